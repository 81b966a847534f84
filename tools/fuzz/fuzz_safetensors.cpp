// tools/fuzz/fuzz_safetensors.cpp — libFuzzer target: load_safetensors (length prefix, JSON
// header, dtype/shape/offset checks, metadata map) on arbitrary bytes.
#include <map>

#include "csg/io/safetensors.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = csg_fuzz::mem_file().write(data, size);
  return csg_fuzz::guarded([&] {
    std::map<std::string, std::string> meta;
    for (const csg::NamedTensor& t : csg::load_safetensors(path, &meta)) csg_fuzz::touch(t.tensor);
  });
}
