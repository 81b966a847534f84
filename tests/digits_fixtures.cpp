// tests/digits_fixtures.cpp — see digits_fixtures.h.
#include "tests/digits_fixtures.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace csg::testing {

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> b;
  put_be32(b, 0x803);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) b.push_back(static_cast<uint8_t>(i * 7 + 3));
  return b;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> b;
  put_be32(b, 0x801);
  put_be32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_mnist_fixture(const std::string& dir, int per_class) {
  fs::create_directories(fs::path(dir) / "src" / "digits");
  for (int d = 0; d < 10; ++d) {
    std::ofstream f(fs::path(dir) / "src" / "digits" / (std::to_string(d) + ".json"));
    f << "{ \"data\": [";
    for (int i = 0; i < per_class; ++i)
      for (int k = 0; k < 784; ++k) {
        const int v = (d * 31 + k * 7 + i) % 256;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", v / 255.0);
        std::string s = buf;
        while (s.size() > 1 && s.back() == '0') s.pop_back();  // JS prints 0.2, 1, 0
        if (s.back() == '.') s.pop_back();
        f << (i || k ? "," : "") << s;
      }
    f << "]}";
  }
}

void write_fashion_fixture(const std::string& dir, uint32_t train, uint32_t test) {
  fs::create_directories(dir);
  auto labels = [](uint32_t n) {
    std::vector<uint8_t> l(n);
    for (uint32_t i = 0; i < n; ++i) l[i] = static_cast<uint8_t>(i % 10);
    return l;
  };
  write_bytes(dir + "/train-images-idx3-ubyte", idx_images(train, 28, 28));
  write_bytes(dir + "/train-labels-idx1-ubyte", idx_labels(labels(train)));
  write_bytes(dir + "/t10k-images-idx3-ubyte", idx_images(test, 28, 28));
  write_bytes(dir + "/t10k-labels-idx1-ubyte", idx_labels(labels(test)));
}

}  // namespace csg::testing
