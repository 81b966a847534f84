// kernels/bf16.h — f32 <-> BF16 conversion: the scalar rounding, shared by the CUDA cast kernels
// (kernels/bf16.cu) and the CPU tests that check it, and the CUDA launchers. Plain C++ (no CUDA
// headers); a BF16 value is its 16 bits in a uint16_t.
//
// The rounding is that of oneDNN on a CPU with BF16 instructions (VCVTNEPS2BF16), so the CPU and
// CUDA `--precision bf16` paths read the same operands: round to nearest, ties to even; a
// value past the largest BF16 becomes infinity; NaN stays NaN (the quiet bit set, the sign and
// the upper payload bits kept); f32 subnormals (|x| < 2^-126) become zero of the same sign.
// PyTorch's CUDA conversion keeps subnormals instead; the two differ only below 2^-126.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/strided.h"  // CSG_HD

namespace csg {

CSG_HD uint16_t bf16_bits_from_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  const uint32_t exponent = u & 0x7f800000u, mantissa = u & 0x007fffffu;
  // Adding 0x7fff, plus one when the kept part is odd, carries into bit 16 exactly when the
  // dropped half is above the halfway point, or at it with an odd kept part (ties to even); a
  // carry out of the largest finite value lands on infinity's bits.
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x0040u;     // quiet, sign and upper payload kept
  const uint32_t zero = (u >> 16) & 0x8000u;    // zero or subnormal: a zero of the same sign
  // Selects, not branches, so that the CPU loops over arrays vectorise.
  const uint32_t r = exponent == 0x7f800000u && mantissa != 0 ? nan : exponent == 0 ? zero : rounded;
  return static_cast<uint16_t>(r);
}

CSG_HD float f32_from_bf16_bits(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// f rounded to the nearest BF16 value, as an f32 (exact: every BF16 value is an f32).
CSG_HD float round_to_bf16(float f) { return f32_from_bf16_bits(bf16_bits_from_f32(f)); }

namespace kernels {
// CUDA launchers over n contiguous elements (device pointers).
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
// dst = the f32 value of src, or dst += it when `accumulate` (chunked sums).
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n, bool accumulate = false);
}  // namespace kernels

}  // namespace csg
