// tools/fuzz/fuzz_checkpoint.cpp — libFuzzer target: load_checkpoint (a safetensors file with
// the csg-checkpoint metadata) and the typed accessors a resume uses on it.
#include "csg/io/checkpoint.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = csg_fuzz::mem_file().write(data, size);
  return csg_fuzz::guarded([&] {
    csg::Checkpoint ck = csg::load_checkpoint(path);
    for (const csg::NamedTensor& t : ck.tensors) csg_fuzz::touch(t.tensor);
    // Every metadata value through the integer accessor: malformed numbers must be csg::Error.
    for (const auto& kv : ck.meta) csg_fuzz::guarded([&] { ck.int_value(kv.first); });
  });
}
