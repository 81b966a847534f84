// tools/fuzz/fuzz_pth.cpp — libFuzzer target: load_pth (zip and legacy torch.save files,
// the restricted unpickler, storage views) on arbitrary bytes.
#include "csg/io/pth.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = csg_fuzz::mem_file().write(data, size);
  return csg_fuzz::guarded([&] {
    for (const csg::NamedTensor& t : csg::load_pth(path)) csg_fuzz::touch(t.tensor);
  });
}
