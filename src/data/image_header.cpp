// src/data/image_header.cpp — an image's size from its header, without decoding a pixel: the
// fast pass of `csg check-data` opens every file of a data set this way.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "csg/image.h"

namespace csg::image {

namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

bool read_exact(FILE* f, uint8_t* out, size_t n) { return std::fread(out, 1, n, f) == n; }
uint32_t big_endian(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

// PNG: the 8-byte signature, then the IHDR chunk (length 13, "IHDR", width, height, ...).
ImageSize png_size(FILE* f, const std::string& path) {
  uint8_t h[24];
  CSG_CHECK(read_exact(f, h, sizeof h), path, ": the PNG header is cut short (an empty or truncated file)");
  CSG_CHECK(std::memcmp(h + 12, "IHDR", 4) == 0, path, ": a PNG without its IHDR chunk first (a corrupt file)");
  return {static_cast<int>(big_endian(h + 16, 4)), static_cast<int>(big_endian(h + 20, 4))};
}

// JPEG: the marker segments after SOI up to the frame header (SOFn), whose payload is
// precision, height, width. Markers without a payload (RSTn, TEM) have no length.
ImageSize jpeg_size(FILE* f, const std::string& path) {
  uint8_t soi[2];
  CSG_CHECK(read_exact(f, soi, 2), path, ": the JPEG header is cut short");
  for (int segments = 0; segments < 4096; ++segments) {
    int c = std::fgetc(f);
    while (c == 0xFF) c = std::fgetc(f);  // fill bytes before a marker
    CSG_CHECK(c != EOF, path, ": the JPEG ends before its frame header (a truncated file)");
    const int marker = c;
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    uint8_t len[2];
    CSG_CHECK(read_exact(f, len, 2), path, ": the JPEG ends inside a marker segment (a truncated file)");
    const uint32_t length = big_endian(len, 2);
    CSG_CHECK(length >= 2, path, ": a JPEG marker segment of length ", length, " (a corrupt file)");
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      uint8_t sof[5];
      CSG_CHECK(length >= 7 && read_exact(f, sof, sizeof sof), path, ": the JPEG frame header is cut short");
      return {static_cast<int>(big_endian(sof + 3, 2)), static_cast<int>(big_endian(sof + 1, 2))};
    }
    CSG_CHECK(marker != 0xDA && marker != 0xD9, path, ": the JPEG has no frame header before its image data");
    CSG_CHECK(std::fseek(f, static_cast<long>(length) - 2, SEEK_CUR) == 0, path, ": the JPEG is cut short");
  }
  CSG_FAIL(path, ": no JPEG frame header in the first 4096 marker segments (a corrupt file)");
}

}  // namespace

ImageSize read_image_size(const std::string& path, int64_t max_pixels) {
  std::error_code ec;
  CSG_CHECK(!std::filesystem::is_directory(path, ec), path, ": is a folder, not an image file");
  File f(std::fopen(path.c_str(), "rb"), std::fclose);
  CSG_CHECK(f != nullptr, path, ": cannot open image (missing file or no permission)");
  uint8_t magic[8] = {};
  const size_t n = std::fread(magic, 1, sizeof magic, f.get());
  CSG_CHECK(n > 0, path, ": empty file");
  std::rewind(f.get());
  ImageSize size;
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n == 8 && std::memcmp(magic, kPng, 8) == 0) {
    size = png_size(f.get(), path);
  } else if (n >= 2 && magic[0] == 0xFF && magic[1] == 0xD8) {
    size = jpeg_size(f.get(), path);
  } else {  // BMP, GIF, ...: no data set here uses them; decoding says what they hold
    const Image im = load(path, max_pixels);
    return {im.width, im.height};
  }
  CSG_CHECK(size.width > 0 && size.height > 0, path, ": its header gives a size of ", size.width, "x", size.height);
  CSG_CHECK(static_cast<int64_t>(size.width) * size.height <= max_pixels, path, ": ", size.width, "x", size.height,
            " pixels exceeds the limit of ", max_pixels);
  return size;
}

}  // namespace csg::image
