// tools/fuzz/fuzz_label_png.cpp — libFuzzer target: decode_label_png (our own PNG chunk
// parser, palette/grey 1-8 bit, filters, Adam7) on arbitrary bytes.
#include "csg/data/label_png.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return csg_fuzz::guarded([&] {
    csg::data::LabelMap m = csg::data::decode_label_png(data, size, "fuzz.png");
    if (m.values.size() != static_cast<size_t>(m.width) * static_cast<size_t>(m.height)) std::abort();
  });
}
