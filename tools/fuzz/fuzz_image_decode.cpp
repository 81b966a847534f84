// tools/fuzz/fuzz_image_decode.cpp — libFuzzer target: csg::image::decode (libjpeg-turbo for
// JPEG, stb_image for PNG/BMP/GIF/..., behind our size check) on arbitrary bytes, and for every
// input that starts like a JPEG the stb_image path as well (the JPEG=0 build's decoder, with
// its structural pre-check), so that both decoders see every JPEG-looking input, the committed
// regression inputs included. max_pixels is small so a header claiming a huge image is
// refused before any pixel buffer is allocated.
#include "csg/image.h"
#include "tests/internals.h"
#include "tools/fuzz/fuzz_support.h"

namespace {

constexpr int64_t kMaxPixels = 1 << 20;

void check(const csg::image::Image& im) {
  if (int64_t(im.width) * im.height > kMaxPixels ||
      im.rgb.size() != static_cast<size_t>(im.width) * static_cast<size_t>(im.height) * 3)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  csg_fuzz::guarded([&] { check(csg::image::decode(data, size, "fuzz.img", kMaxPixels)); });
  if (csg::image::starts_like_jpeg(data, size) && csg::image::jpeg_decoder() != csg::image::JpegDecoder::Stb)
    csg_fuzz::guarded([&] { check(csg::image::decode_with_stb(data, size, "fuzz.jpg", kMaxPixels)); });
  return 0;
}
