// src/io/crc32c.h — CRC-32C (Castagnoli): the checksum of every file csg writes (checkpoints,
// exported models: src/io/safetensors.cpp) and the masked form TFRecord files (TensorBoard event
// files) store next to every length and payload.
#pragma once
#include <cstddef>
#include <cstdint>

namespace csg::io {

// CRC-32C of n bytes: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF
// (crc32c("123456789") = 0xE3069283). On x86-64 CPUs with SSE4.2 the CPU's crc32 instruction
// computes it (several GB/s); elsewhere a table, 8 bytes per step.
uint32_t crc32c(const void* data, size_t n);
// Continues `crc` (a previous crc32c result, 0 to start) over n more bytes:
// crc32c_extend(crc32c(a, n), b, m) == crc32c of a followed by b.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
// The table version alone, whatever the CPU (tests compare the two).
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t n);
// Whether crc32c() runs on the CPU's instruction.
bool crc32c_hardware();

// TFRecord's mask, ((crc >> 15) | (crc << 17)) + 0xA282EAD8: a CRC stored inside data that is
// itself checksummed would otherwise make the outer CRC degenerate.
uint32_t mask_crc32c(uint32_t crc);
inline uint32_t masked_crc32c(const void* data, size_t n) { return mask_crc32c(crc32c(data, n)); }

}  // namespace csg::io
