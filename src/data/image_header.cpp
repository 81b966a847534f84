// src/data/image_header.cpp — an image's size from its header, before anything is decoded: the
// pixel limit is checked on it, so an image too large to decode costs no pixel buffer (and
// stb_image's own size check, which fails as "unknown image type", is never the one that speaks);
// `csg check-data`'s fast pass reads every file of a data set this way.
#include <algorithm>

#include "csg/image.h"
#include "src/io/binary_file.h"

namespace csg::image {

namespace {

uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// JPEG: the first start-of-frame segment (SOF0..SOF15 but DHT, JPG and DAC) before the first scan.
bool jpeg_size(const uint8_t* b, size_t n, int64_t* w, int64_t* h) {
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (b[pos] != 0xFF) return false;
    const uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return false;  // a scan or the end before any frame
    const size_t len = be16(b + pos + 2);
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (len < 7 || pos + 9 > n) return false;
      *h = be16(b + pos + 5);
      *w = be16(b + pos + 7);
      return true;
    }
    if (len < 2) return false;
    pos += 2 + len;
  }
  return false;
}

}  // namespace

bool size_from_header(const uint8_t* b, size_t n, int64_t* width, int64_t* height) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 24 && std::equal(kPng, kPng + 8, b) && std::equal(b + 12, b + 16, "IHDR")) {
    *width = be32(b + 16);
    *height = be32(b + 20);
    return true;
  }
  if (n >= 2 && b[0] == 0xFF && b[1] == 0xD8) return jpeg_size(b, n, width, height);
  if (n >= 10 && (std::equal(b, b + 6, "GIF87a") || std::equal(b, b + 6, "GIF89a"))) {
    *width = io::load_le16(b + 6);
    *height = io::load_le16(b + 8);
    return true;
  }
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    if (io::load_le32(b + 14) == 12) {  // OS/2 1.x header: 16-bit sizes
      *width = io::load_le16(b + 18);
      *height = io::load_le16(b + 20);
    } else {
      *width = static_cast<int32_t>(io::load_le32(b + 18));
      *height = static_cast<int32_t>(io::load_le32(b + 22));
      if (*height < 0) *height = -*height;  // a top-down bitmap
    }
    return true;
  }
  if (n >= 26 && std::equal(b, b + 4, "8BPS")) {  // Photoshop
    *height = be32(b + 14);
    *width = be32(b + 18);
    return true;
  }
  return false;
}

void check_pixel_limit(const std::string& what, int64_t width, int64_t height, int64_t max_pixels) {
  // Each side can be up to 2^32 - 1 in a header, so the product may not fit in 64 bits: divide.
  const bool within = width <= 0 || height <= 0 || height <= max_pixels / width;
  CSG_CHECK(within, what, ": ", width, "x", height, " pixels exceeds the limit of ", max_pixels,
            " pixels per image; refusing to decode it (the limit is --max-image-pixels, or "
            "csg_model_set_max_image_pixels in the C API)");
}

ImageSize read_image_size(const std::string& path, int64_t max_pixels) {
  // A header sits in the first bytes of a file; a JPEG's frame header can follow a large EXIF
  // segment, and then (as for a file cut short or of another format) decoding finds the size.
  constexpr uint64_t kPrefix = 64 * 1024;
  std::vector<uint8_t> head;
  {
    const io::BinaryFile f(path);  // names the file: missing, a directory, unreadable
    CSG_CHECK(f.size() > 0, path, ": empty file");
    head = f.read_vector(0, static_cast<size_t>(std::min(f.size(), kPrefix)), "the image header");
  }
  int64_t w = 0, h = 0;
  if (!size_from_header(head.data(), head.size(), &w, &h)) {
    const Image im = load(path, max_pixels);
    return {im.width, im.height};
  }
  CSG_CHECK(w > 0 && h > 0, path, ": its header gives a size of ", w, "x", h);
  check_pixel_limit(path, w, h, max_pixels);
  return {static_cast<int>(w), static_cast<int>(h)};
}

}  // namespace csg::image
