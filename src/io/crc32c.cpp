// src/io/crc32c.cpp — CRC-32C with the SSE4.2 crc32 instruction where the CPU has it, else
// slicing-by-8 tables (src/io/crc_slicing.h). Checkpoints are hundreds of MB and every load
// verifies them, so a byte-at-a-time loop (about 0.4 GB/s) would add a second to a ResNet-101
// resume.
#include "src/io/crc32c.h"

#include <cstring>

#include "src/io/crc_slicing.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CSG_CRC32C_X86 1
#endif

namespace csg::io {

namespace {

// Raw (not pre/post-inverted) update.
uint32_t update_portable(uint32_t crc, const uint8_t* p, size_t n) {
  static const SlicingCrc32 table(0x82F63B78u);  // Castagnoli, reflected
  return table.update(crc, p, n);
}

#ifdef CSG_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t update_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

bool cpu_has_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

uint32_t update(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
#ifdef CSG_CRC32C_X86
  if (cpu_has_sse42()) return update_sse42(crc, p, n);
#endif
  return update_portable(crc, p, n);
}
}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) { return ~update(~crc, data, n); }
uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t n) {
  return ~update_portable(~crc, static_cast<const uint8_t*>(data), n);
}

bool crc32c_hardware() {
#ifdef CSG_CRC32C_X86
  return cpu_has_sse42();
#else
  return false;
#endif
}

uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

}  // namespace csg::io
