// src/data/label_png.cpp — PNG label images by pixel value: a chunk parser + scanline
// unfilter for palette and greyscale PNGs (stb_image's zlib inflates the IDAT data), and a
// minimal palette-PNG encoder (stb_image_write's deflate, our own chunk framing and CRC).
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "src/io/file_checks.h"
#include "src/io/zip_reader.h"  // io::crc32: the same CRC-32 as PNG chunks and gzip members
#include "csg/data/label_png.h"
#include "src/data/image_decoders.h"

// Both stb implementations are compiled once, in src/data/image.cpp; only declarations here.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

// stb_image_write defines its deflate encoder with external linkage but declares it only in
// its implementation section.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

namespace csg::data {

namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};


uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  return static_cast<uint8_t>(pb <= pc ? b : c);
}

struct Header {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, interlace = 0;
};

// One (sub-)image of `w` x `h` samples as stored: h rows of [filter byte, packed row bytes].
// Reverses the filters in place over `data` and writes the unpacked samples to
// out[(y0 + y*dy) * width + x0 + x*dx]. Returns the number of bytes consumed.
size_t unfilter_pass(uint8_t* data, size_t avail, uint32_t w, uint32_t h, int depth, uint32_t x0, uint32_t y0,
                     uint32_t dx, uint32_t dy, LabelMap& out, const std::string& what) {
  if (w == 0 || h == 0) return 0;
  const size_t row_bytes = (static_cast<size_t>(w) * depth + 7) / 8;
  const size_t stride = row_bytes + 1;
  CSG_CHECK(avail >= stride * h, what, ": PNG image data is truncated (", avail, " bytes left, ", stride * h,
            " needed)");
  const size_t bpp = 1;  // bytes per complete pixel, rounded up to 1 (one channel, depth <= 8)
  const uint8_t* prev = nullptr;
  for (uint32_t y = 0; y < h; ++y) {
    uint8_t* row = data + y * stride + 1;
    const int filter = data[y * stride];
    for (size_t i = 0; i < row_bytes; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0;
      const int b = prev ? prev[i] : 0;
      const int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
      switch (filter) {
        case 0: break;
        case 1: row[i] = static_cast<uint8_t>(row[i] + a); break;
        case 2: row[i] = static_cast<uint8_t>(row[i] + b); break;
        case 3: row[i] = static_cast<uint8_t>(row[i] + ((a + b) >> 1)); break;
        case 4: row[i] = static_cast<uint8_t>(row[i] + paeth(a, b, c)); break;
        default: CSG_FAIL(what, ": PNG row ", y, " has an invalid filter type ", filter, " (corrupt file)");
      }
    }
    prev = row;
    uint8_t* dst_row = out.values.data() + static_cast<size_t>(y0 + y * dy) * out.width;
    if (depth == 8) {
      for (uint32_t x = 0; x < w; ++x) dst_row[x0 + x * dx] = row[x];
    } else {
      const int per_byte = 8 / depth, mask = (1 << depth) - 1;
      for (uint32_t x = 0; x < w; ++x) {
        const int shift = 8 - depth * (1 + static_cast<int>(x % per_byte));
        dst_row[x0 + x * dx] = static_cast<uint8_t>((row[x / per_byte] >> shift) & mask);
      }
    }
  }
  return stride * h;
}

struct Adam7Pass {
  uint32_t x0, y0, dx, dy;
};
constexpr Adam7Pass kAdam7[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                 {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
uint32_t pass_extent(uint32_t size, uint32_t start, uint32_t step) {
  return size > start ? (size - start + step - 1) / step : 0;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  errno = 0;
  std::ofstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot create file (", errno != 0 ? std::strerror(errno) : "unknown reason", ")");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.flush();
  CSG_CHECK(f.good(), path, ": write failed (", errno != 0 ? std::strerror(errno) : "unknown reason", ")");
}

void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void append_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  append_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  append_be32(out, io::crc32(out.data() + start, out.size() - start));
}

}  // namespace

LabelMap decode_label_png(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels) {
  CSG_CHECK(n >= 8 && std::memcmp(bytes, kSignature, 8) == 0, what, ": not a PNG file (label images must be PNG)");
  Header hdr;
  bool have_header = false, have_palette = false, have_end = false;
  std::vector<uint8_t> idat;
  size_t pos = 8;
  while (pos < n && !have_end) {
    CSG_CHECK(n - pos >= 12, what, ": PNG is truncated inside a chunk header at byte ", pos);
    const uint32_t len = read_be32(bytes + pos);
    const char* type = reinterpret_cast<const char*>(bytes + pos + 4);
    const std::string type_str(type, 4);
    CSG_CHECK(len <= n - pos - 12, what, ": PNG chunk '", type_str, "' at byte ", pos, " claims ", len,
              " bytes, past the end of the file (truncated or corrupt)");
    const uint8_t* data = bytes + pos + 8;
    CSG_CHECK(io::crc32(bytes + pos + 4, len + 4) == read_be32(data + len), what, ": PNG chunk '", type_str,
              "' at byte ", pos, " fails its CRC check (corrupt file)");
    if (type_str == "IHDR") {
      CSG_CHECK(len == 13, what, ": PNG IHDR chunk has length ", len, " (expected 13)");
      hdr.width = read_be32(data);
      hdr.height = read_be32(data + 4);
      hdr.bit_depth = data[8];
      hdr.colour_type = data[9];
      CSG_CHECK(data[10] == 0 && data[11] == 0, what, ": unknown PNG compression/filter method");
      hdr.interlace = data[12];
      CSG_CHECK(hdr.interlace <= 1, what, ": unknown PNG interlace method ", hdr.interlace);
      image::check_pixel_limit(what, hdr.width, hdr.height, max_pixels);  // before its data is gathered
      have_header = true;
    } else if (type_str == "PLTE") {
      have_palette = true;
    } else if (type_str == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    } else if (type_str == "IEND") {
      have_end = true;
    }
    pos += 12 + static_cast<size_t>(len);
  }
  CSG_CHECK(have_header, what, ": PNG has no IHDR chunk (corrupt file)");
  CSG_CHECK(!idat.empty(), what, ": PNG has no image data (truncated or corrupt file)");

  const int ct = hdr.colour_type, depth = hdr.bit_depth;
  CSG_CHECK(ct == 0 || ct == 3, what, ": label PNG has colour type ", ct,
            (ct == 2 ? " (RGB)" : ct == 6 ? " (RGBA)" : ct == 4 ? " (grey+alpha)" : ""),
            "; label images must be palette (indices = label values) or greyscale PNGs. Colour-coded "
            "label images cannot be read as labels");
  CSG_CHECK(depth == 1 || depth == 2 || depth == 4 || depth == 8, what, ": label PNG has ", depth,
            "-bit samples; only 1, 2, 4 and 8 bits are supported for labels");
  CSG_CHECK(ct == 0 || have_palette, what, ": palette PNG without a PLTE chunk (corrupt file)");
  CSG_CHECK(hdr.width > 0 && hdr.height > 0, what, ": PNG has an empty size ", hdr.width, "x", hdr.height);
  CSG_CHECK(idat.size() <= static_cast<size_t>(INT_MAX), what, ": PNG image data too large");

  // Raw size after inflation: rows of each pass, each with its filter byte.
  size_t expected = 0;
  for (int p = 0; p < (hdr.interlace ? 7 : 1); ++p) {
    const Adam7Pass pass = hdr.interlace ? kAdam7[p] : Adam7Pass{0, 0, 1, 1};
    const uint32_t w = pass_extent(hdr.width, pass.x0, pass.dx), h = pass_extent(hdr.height, pass.y0, pass.dy);
    if (w && h) expected += (1 + (static_cast<size_t>(w) * depth + 7) / 8) * h;
  }
  CSG_CHECK(expected < static_cast<size_t>(INT_MAX), what, ": PNG too large to decode");
  // The first guess of the output size is capped by what the compressed size can plausibly
  // hold, so a corrupt header claiming a huge image does not allocate it up front (stb grows
  // the buffer as needed).
  const size_t guess = std::min(expected, idat.size() * 16 + 4096) + 1;
  int raw_len = 0;
  char* raw_ptr = stbi_zlib_decode_malloc_guesssize(reinterpret_cast<const char*>(idat.data()),
                                                    static_cast<int>(idat.size()), static_cast<int>(guess), &raw_len);
  CSG_CHECK(raw_ptr != nullptr, what, ": PNG image data does not inflate (", stbi_failure_reason(),
            "); the file is corrupt or truncated");
  std::unique_ptr<char, void (*)(void*)> raw(raw_ptr, std::free);
  CSG_CHECK(static_cast<size_t>(raw_len) >= expected, what, ": PNG image data is truncated (", raw_len,
            " bytes inflated, ", expected, " needed for ", hdr.width, "x", hdr.height, ")");
  auto* rawb = reinterpret_cast<uint8_t*>(raw.get());

  LabelMap out;
  out.width = static_cast<int>(hdr.width);
  out.height = static_cast<int>(hdr.height);
  out.values.assign(static_cast<size_t>(hdr.width) * hdr.height, 0);
  size_t used = 0;
  for (int p = 0; p < (hdr.interlace ? 7 : 1); ++p) {
    const Adam7Pass pass = hdr.interlace ? kAdam7[p] : Adam7Pass{0, 0, 1, 1};
    used += unfilter_pass(rawb + used, static_cast<size_t>(raw_len) - used, pass_extent(hdr.width, pass.x0, pass.dx),
                          pass_extent(hdr.height, pass.y0, pass.dy), depth, pass.x0, pass.y0, pass.dx, pass.dy, out,
                          what);
  }
  return out;
}

LabelMap read_label_png(const std::string& path, int64_t max_pixels) {
  io::refuse_directory(path, "a label image");
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot open label image (missing file or no permission)");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CSG_CHECK(!bytes.empty(), path, ": empty file");
  return decode_label_png(bytes.data(), bytes.size(), path, max_pixels);
}

void write_palette_png(const std::string& path, const LabelMap& labels, const Palette& palette) {
  CSG_CHECK(!palette.empty() && palette.size() <= 256, path, ": a PNG palette has 1..256 entries, got ",
            palette.size());
  CSG_CHECK(labels.width > 0 && labels.height > 0 &&
                labels.values.size() == static_cast<size_t>(labels.width) * labels.height,
            path, ": label map ", labels.width, "x", labels.height, " with ", labels.values.size(), " values");
  for (uint8_t v : labels.values)
    CSG_CHECK(v < palette.size(), path, ": value ", int(v), " has no palette entry (palette of ", palette.size(),
              ")");
  std::vector<uint8_t> png(kSignature, kSignature + 8);
  std::vector<uint8_t> ihdr;
  append_be32(ihdr, static_cast<uint32_t>(labels.width));
  append_be32(ihdr, static_cast<uint32_t>(labels.height));
  ihdr.insert(ihdr.end(), {8, 3, 0, 0, 0});  // 8-bit, palette, deflate, adaptive filters, no interlace
  append_chunk(png, "IHDR", ihdr);
  std::vector<uint8_t> plte;
  for (const auto& c : palette) plte.insert(plte.end(), c.begin(), c.end());
  append_chunk(png, "PLTE", plte);
  // Filter type 0 (None) on every row: label maps are flat regions, deflate handles them well.
  std::vector<uint8_t> rows;
  rows.reserve(static_cast<size_t>(labels.width + 1) * labels.height);
  for (int y = 0; y < labels.height; ++y) {
    rows.push_back(0);
    const uint8_t* r = labels.values.data() + static_cast<size_t>(y) * labels.width;
    rows.insert(rows.end(), r, r + labels.width);
  }
  CSG_CHECK(rows.size() <= static_cast<size_t>(INT_MAX), path, ": image too large");
  int zlen = 0;
  unsigned char* z = stbi_zlib_compress(rows.data(), static_cast<int>(rows.size()), &zlen, 8);
  CSG_CHECK(z != nullptr, path, ": deflate failed");
  std::vector<uint8_t> idat(z, z + zlen);
  std::free(z);
  append_chunk(png, "IDAT", idat);
  append_chunk(png, "IEND", {});
  write_file(path, png);
}

void write_grey_png(const std::string& path, const LabelMap& labels) {
  CSG_CHECK(labels.width > 0 && labels.height > 0 &&
                labels.values.size() == static_cast<size_t>(labels.width) * labels.height,
            path, ": label map ", labels.width, "x", labels.height, " with ", labels.values.size(), " values");
  image::write_png_file(path, labels.width, labels.height, 1, labels.values.data());
}

}  // namespace csg::data
