// tools/fuzz/fuzz_image_list.cpp — libFuzzer target: read_image_list (VisDA
// "<path> <label>" lines, CRLF, paths with spaces, label range checks) on arbitrary text.
#include "csg/data/datasets.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = csg_fuzz::mem_file().write(data, size);
  return csg_fuzz::guarded([&] {
    for (const csg::data::ListEntry& e : csg::data::read_image_list(path, "/base", 12)) {
      if (e.label < 0 || e.label >= 12) std::abort();  // the documented range check
    }
  });
}
