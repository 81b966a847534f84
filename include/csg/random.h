// csg/random.h — seeded random numbers that are the same on the CPU and on CUDA.
//
// Random values come from a counter-based generator: value i of a draw is a hash of
// (seed, offset + i), so a kernel can compute element i without shared state. For the same
// seed the CPU and CUDA backends draw bit-identical dropout masks and float32 rand() values
// (any range), and randn() values that agree to a few ulps (the device's logf/cosf/sqrtf
// differ from the host's libm in the last bits).
// A Generator only hands out disjoint counter ranges.
#pragma once
#include <cstdint>

#include "csg/tensor.h"

#if defined(__CUDACC__)
#define CSG_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define CSG_HOST_DEVICE inline
#endif

namespace csg {

// splitmix64 finaliser: a bijective 64-bit mix with good avalanche.
CSG_HOST_DEVICE uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
// Uniform in [0, 1) with 24 random bits (exactly representable in float and double).
CSG_HOST_DEVICE float counter_uniform(uint64_t seed, uint64_t counter) {
  uint64_t h = mix64(seed ^ mix64(counter));
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

// Uniform u in [0, 1) mapped to [lo, hi): lo + (hi - lo) * u in double, then rounded to the
// tensor's type by the caller. The device rounds each operation on its own (no fused
// multiply-add), as the host does on x86-64, so float32 results match bit for bit.
CSG_HOST_DEVICE double uniform_in_range(float u, double lo, double hi) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(lo, __dmul_rn(hi - lo, static_cast<double>(u)));
#else
  return lo + (hi - lo) * static_cast<double>(u);
#endif
}

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserve n counters; returns the first.
  uint64_t take(uint64_t n) { uint64_t o = offset_; offset_ += n; return o; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is given none.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform [lo, hi) and standard-normal tensors (float types), filled on the tensor's device.
Tensor rand(const Shape& shape, Generator& gen, TensorOptions opt = {}, double lo = 0.0, double hi = 1.0);
Tensor randn(const Shape& shape, Generator& gen, TensorOptions opt = {});

}  // namespace csg
