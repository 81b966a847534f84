// src/data/image.cpp — decoding (stb_image here, JPEG through jpeg_decode.cpp), crops and
// conversion to tensors.
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "csg/image.h"
#include "src/data/image_decoders.h"
#include "src/data/jpeg_check.h"
#include "src/data/png_check.h"
#include "src/io/file_checks.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // we read files ourselves to report errors with the path
// No data set uses PNM, and Debian's stb_image parses PNM header numbers with signed int
// overflow (UBSan; data/fixtures/fuzz/stb_pnm_width_overflow.pgm): leave that reader out.
#define STBI_NO_PNM
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace csg::image {

namespace {
#ifdef CSG_WITH_LIBJPEG
constexpr bool kHaveLibjpeg = true;
#else
constexpr bool kHaveLibjpeg = false;
#endif
std::atomic<JpegDecoder> g_jpeg_decoder{kHaveLibjpeg ? JpegDecoder::LibjpegTurbo : JpegDecoder::Stb};
}  // namespace

bool have_libjpeg_turbo() { return kHaveLibjpeg; }

void set_jpeg_decoder(JpegDecoder d) {
  CSG_CHECK(d == JpegDecoder::Stb || kHaveLibjpeg,
            "set_jpeg_decoder: this build has no libjpeg-turbo (make JPEG=0, or jpeglib.h was not found); install "
            "libjpeg62-turbo-dev and rebuild");
  g_jpeg_decoder.store(d);
}

JpegDecoder jpeg_decoder() { return g_jpeg_decoder.load(); }

Image decode(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels) {
  int64_t w = 0, h = 0;
  if (size_from_header(bytes, n, &w, &h)) check_pixel_limit(what, w, h, max_pixels);
  if (starts_like_jpeg(bytes, n) && jpeg_decoder() == JpegDecoder::LibjpegTurbo)
    return decode_with_libjpeg(bytes, n, what, max_pixels);
  return decode_with_stb(bytes, n, what, max_pixels);
}

Image decode_with_stb(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels) {
  int w = 0, h = 0, c = 0;
  CSG_CHECK(n <= static_cast<size_t>(INT32_MAX), what, ": file too large to decode (", n, " bytes)");
  const std::string jpeg_error = jpeg_structure_error(bytes, n);
  CSG_CHECK(jpeg_error.empty(), what, ": corrupt JPEG (", jpeg_error, "); refusing to decode it");
  const std::string png_error = png_structure_error(bytes, n);
  CSG_CHECK(png_error.empty(), what, ": corrupt PNG (", png_error, "); refusing to decode it");
  if (!stbi_info_from_memory(bytes, static_cast<int>(n), &w, &h, &c)) {
    // stb_image refuses more than 2^30 bytes of samples and then tries every other format, so
    // its reason reads "unknown image type": say the size the header gives instead.
    int64_t hw = 0, hh = 0;
    // In double: a damaged header's sizes can be anything, and their product must not overflow.
    if (size_from_header(bytes, n, &hw, &hh) && hw > 0 && hh > 0 &&
        static_cast<double>(hw) * static_cast<double>(hh) * 3 > static_cast<double>(int64_t(1) << 30))
      CSG_FAIL(what, ": ", hw, "x", hh, " pixels is more than stb_image decodes (2^30 bytes of samples, about ",
               (int64_t(1) << 30) / 3, " RGB pixels); shrink the image");
    CSG_FAIL(what, ": not a decodable image (", stbi_failure_reason(), "); the file may be corrupt or truncated");
  }
  check_pixel_limit(what, w, h, max_pixels);
  unsigned char* px = stbi_load_from_memory(bytes, static_cast<int>(n), &w, &h, &c, 3);
  if (!px) CSG_FAIL(what, ": decoding failed (", stbi_failure_reason(), "); the file may be corrupt or truncated");
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.assign(px, px + static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  return im;
}

Image load(const std::string& path, int64_t max_pixels) {
  // A folder opens as a stream and then throws from inside the stream library on the first read.
  io::refuse_directory(path, "an image file");
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot open image (missing file or no permission)");
  // The header first: an image over the limit is refused before the rest of its file is read.
  constexpr size_t kHeadBytes = 64 << 10;
  std::vector<uint8_t> bytes(kHeadBytes);
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(f.gcount()));
  CSG_CHECK(!bytes.empty(), path, ": empty file");
  int64_t w = 0, h = 0;
  if (size_from_header(bytes.data(), bytes.size(), &w, &h)) check_pixel_limit(path, w, h, max_pixels);
  if (bytes.size() == kHeadBytes) bytes.insert(bytes.end(), std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return decode(bytes.data(), bytes.size(), path, max_pixels);
}

void write_png_file(const std::string& path, int width, int height, int channels, const uint8_t* pixels) {
  errno = 0;
  const int ok = stbi_write_png(path.c_str(), width, height, channels, pixels, width * channels);
  CSG_CHECK(ok, path, ": cannot write PNG (", errno != 0 ? std::strerror(errno) : "out of memory", ")");
}

void save_png(const std::string& path, const Image& im) { write_png_file(path, im.width, im.height, 3, im.rgb.data()); }

Image crop(const Image& im, int x, int y, int w, int h) {
  CSG_CHECK(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= im.width && y + h <= im.height, "crop: box (", x, ",", y,
            ") ", w, "x", h, " is not inside a ", im.width, "x", im.height, " image");
  Image out;
  out.width = w;
  out.height = h;
  out.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int r = 0; r < h; ++r) std::memcpy(out.at(0, r), im.at(x, y + r), static_cast<size_t>(w) * 3);
  return out;
}

Image center_crop(const Image& im, int w, int h) {
  CSG_CHECK(w <= im.width && h <= im.height, "center_crop: ", w, "x", h, " is larger than the ", im.width, "x",
            im.height, " image");
  // Python's round() rounds half to even; nearbyint does too in the default rounding mode.
  int top = static_cast<int>(std::nearbyint((im.height - h) / 2.0));
  int left = static_cast<int>(std::nearbyint((im.width - w) / 2.0));
  return crop(im, left, top, w, h);
}

Image resize_shorter_side(const Image& im, int size) {
  CSG_CHECK(size > 0 && im.width > 0 && im.height > 0, "resize: bad size ", size, " for a ", im.width, "x", im.height,
            " image");
  if (im.width <= im.height) {
    int long_side = static_cast<int>(static_cast<int64_t>(size) * im.height / im.width);
    return (im.width == size && im.height == long_side) ? im : resize_bilinear(im, size, long_side);
  }
  int long_side = static_cast<int>(static_cast<int64_t>(size) * im.width / im.height);
  return (im.height == size && im.width == long_side) ? im : resize_bilinear(im, long_side, size);
}

Tensor to_tensor(const Image& im, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  Tensor t = empty({3, im.height, im.width});
  float* p = t.data<float>();
  const int64_t plane = static_cast<int64_t>(im.width) * im.height;
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < plane; ++i)
      p[c * plane + i] = (static_cast<float>(im.rgb[i * 3 + c]) / 255.0f - mean[c]) / std[c];
  return t;
}

}  // namespace csg::image
