// src/io/sha256.h — SHA-256 (FIPS 180-4), for the checksum torchvision writes into the name of
// each weights file (resnet101-63fe2227.pth: the first hex digits of the file's SHA-256).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace csg::io {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::array<uint8_t, 32> finish();  // the digest; the object is spent afterwards

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes hashed so far
};

std::string to_hex(const std::array<uint8_t, 32>& digest);
std::string sha256_hex(const void* data, size_t n);
// The SHA-256 of a file, in hex; a file that cannot be read is a csg::Error naming it.
std::string sha256_file_hex(const std::string& path);

}  // namespace csg::io
