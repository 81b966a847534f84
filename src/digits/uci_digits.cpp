// src/digits/uci_digits.cpp — the UCI "Optical Recognition of Handwritten Digits" set (1,797
// digits by 43 writers, none of MNIST's) as scikit-learn ships it: digits.csv.gz, read with
// zlib. Its digits 0-4 are the digit priors' test split: real handwriting of other writers.
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "csg/digits/data.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

constexpr int kSide = 8;                   // 8x8 images
constexpr int kValues = kSide * kSide + 1;  // 64 pixels, then the class
constexpr int kMaxLevel = 16;              // ink pixels per 4x4 block of the 32x32 bitmap

const char* kFix = "; reinstall python3-sklearn (apt-get install python3-sklearn) or pass another copy with --uci-digits";

// The whole file, inflated when gzipped (gzread passes plain files through). A truncated or
// corrupt gzip stream is an error naming the file.
std::string read_gz_text(const std::string& path) {
  std::error_code ec;
  CSG_CHECK(fs::is_regular_file(path, ec), path, ": no such file", kFix);
  gzFile f = gzopen(path.c_str(), "rb");
  CSG_CHECK(f != nullptr, path, ": cannot open (no permission?)");
  std::string text;
  char buf[1 << 15];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  int code = Z_OK;
  const std::string why = n < 0 ? gzerror(f, &code) : "";
  gzclose(f);
  CSG_CHECK(n == 0, path, ": the gzip stream does not inflate (", why, "); the file is truncated or corrupt", kFix);
  return text;
}

}  // namespace

GreyImages read_uci_digits(const std::string& path) {
  const std::string text = read_gz_text(path);
  GreyImages set;
  set.rows = set.cols = kSide;
  size_t pos = 0;
  int64_t line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string row = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty()) continue;  // a trailing newline
    int values[kValues];
    int count = 0;
    const char* p = row.c_str();
    while (true) {
      char* stop = nullptr;
      const long v = std::strtol(p, &stop, 10);
      CSG_CHECK(stop != p, path, ":", line, ": value ", count + 1, " is not an integer (\"", row.substr(p - row.c_str(), 12),
                "\"); expected 65 comma-separated integers (64 pixels 0..16, then the class 0..9)", kFix);
      CSG_CHECK(count < kValues, path, ":", line, ": more than ", kValues, " values; expected 64 pixels and the class", kFix);
      const bool is_class = count == kValues - 1;
      CSG_CHECK(v >= 0 && v <= (is_class ? 9 : kMaxLevel), path, ":", line, ": ", is_class ? "class " : "pixel ", v,
                is_class ? " is not a digit 0..9" : " is outside the 17 grey levels 0..16", kFix);
      values[count++] = static_cast<int>(v);
      if (*stop == '\0') break;
      CSG_CHECK(*stop == ',', path, ":", line, ": unexpected character '", *stop, "' after value ", count,
                "; expected commas between integers", kFix);
      p = stop + 1;
    }
    CSG_CHECK(count == kValues, path, ":", line, ": ", count, " values; expected ", kValues,
              " (64 pixels and the class): the line is truncated", kFix);
    for (int i = 0; i < kValues - 1; ++i)  // 0..16 ink counts -> 0..255 grey, rounded
      set.pixels.push_back(static_cast<uint8_t>((values[i] * 255 + kMaxLevel / 2) / kMaxLevel));
    set.labels.push_back(static_cast<uint8_t>(values[kValues - 1]));
    ++set.count;
  }
  CSG_CHECK(set.count > 0, path, ": no digits in the file", kFix);
  return set;
}

std::vector<std::string> uci_digits_search_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("CSG_UCI_DIGITS"); env && *env) paths.push_back(env);
  paths.push_back("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz");
  return paths;
}

std::string find_uci_digits(const std::string& path) {
  if (!path.empty()) return path;
  std::string tried;
  for (const std::string& p : uci_digits_search_paths()) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
    tried += "\n  " + p;
  }
  CSG_FAIL("the UCI handwritten digits (digits.csv.gz) were not found; tried:", tried,
           "\nto fix: apt-get install python3-sklearn (it ships the file), set CSG_UCI_DIGITS, or pass --uci-digits");
}

GreyImages upsample_grey(const GreyImages& set, int size) {
  CSG_CHECK(size > 0 && set.rows > 0 && set.cols > 0, "upsample_grey: size ", size, " of a ", set.rows, "x", set.cols,
            " set");
  GreyImages out;
  out.count = set.count;
  out.rows = out.cols = size;
  out.labels = set.labels;
  out.pixels.resize(static_cast<size_t>(set.count) * size * size);
  // Bilinear with pixel centres aligned (PIL/torch align_corners=False), edges clamped.
  auto coord = [](int o, int in, int out_n, int& i0, int& i1, float& w) {
    float x = (o + 0.5f) * in / out_n - 0.5f;
    x = std::min(std::max(x, 0.f), static_cast<float>(in - 1));
    i0 = static_cast<int>(x);
    i1 = std::min(i0 + 1, in - 1);
    w = x - i0;
  };
  for (int64_t n = 0; n < set.count; ++n) {
    const uint8_t* src = set.image(n);
    uint8_t* dst = out.pixels.data() + n * size * size;
    for (int y = 0; y < size; ++y) {
      int y0, y1;
      float wy;
      coord(y, set.rows, size, y0, y1, wy);
      for (int x = 0; x < size; ++x) {
        int x0, x1;
        float wx;
        coord(x, set.cols, size, x0, x1, wx);
        const float top = src[y0 * set.cols + x0] * (1 - wx) + src[y0 * set.cols + x1] * wx;
        const float bottom = src[y1 * set.cols + x0] * (1 - wx) + src[y1 * set.cols + x1] * wx;
        dst[y * size + x] = static_cast<uint8_t>(top * (1 - wy) + bottom * wy + 0.5f);
      }
    }
  }
  return out;
}

}  // namespace csg::data
