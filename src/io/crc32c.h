// src/io/crc32c.h — CRC-32C (Castagnoli) and the masked form that TFRecord files (TensorBoard
// event files) store next to every length and payload.
#pragma once
#include <cstddef>
#include <cstdint>

namespace csg::io {

// CRC-32C of n bytes: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF
// (crc32c("123456789") = 0xE3069283).
uint32_t crc32c(const void* data, size_t n);

// TFRecord's mask, ((crc >> 15) | (crc << 17)) + 0xA282EAD8: a CRC stored inside data that is
// itself checksummed would otherwise make the outer CRC degenerate.
uint32_t mask_crc32c(uint32_t crc);
inline uint32_t masked_crc32c(const void* data, size_t n) { return mask_crc32c(crc32c(data, n)); }

}  // namespace csg::io
