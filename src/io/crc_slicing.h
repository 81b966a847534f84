// src/io/crc_slicing.h — table-driven CRC-32 for a reflected polynomial, 8 bytes per step
// (slicing-by-8): zip's CRC-32 (0xEDB88320, src/io/zip_reader.cpp) and CRC-32C where the CPU has
// no crc32 instruction (0x82F63B78, src/io/crc32c.cpp).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace csg::io {

class SlicingCrc32 {
 public:
  explicit SlicingCrc32(uint32_t reflected_polynomial);
  // The register after n more bytes; no pre- or post-inversion (the caller's convention).
  uint32_t update(uint32_t crc, const uint8_t* p, size_t n) const;

 private:
  // t_[k][b]: the CRC register for byte b followed by k zero bytes.
  std::array<std::array<uint32_t, 256>, 8> t_{};
};

}  // namespace csg::io
