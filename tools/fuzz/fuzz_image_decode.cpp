// tools/fuzz/fuzz_image_decode.cpp — libFuzzer target: csg::image::decode (stb_image
// PNG/JPEG/BMP/GIF/... behind our size check) on arbitrary bytes. max_pixels is small so a
// header claiming a huge image is refused before any pixel buffer is allocated.
#include "csg/image.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kMaxPixels = 1 << 20;
  return csg_fuzz::guarded([&] {
    csg::image::Image im = csg::image::decode(data, size, "fuzz.img", kMaxPixels);
    if (int64_t(im.width) * im.height > kMaxPixels ||
        im.rgb.size() != static_cast<size_t>(im.width) * static_cast<size_t>(im.height) * 3)
      std::abort();
  });
}
