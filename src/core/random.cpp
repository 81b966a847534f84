// src/core/random.cpp — the default generator and the seeded rand/randn fills.
#include <cmath>

#include "csg/random.h"
#include "src/core/dispatch.h"

#ifdef CSG_WITH_CUDA
#include "kernels/copy.h"
#endif

namespace csg {

Generator& default_generator() {
  static Generator g(0);
  return g;
}
void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

Tensor rand(const Shape& shape, Generator& gen, TensorOptions opt, double lo, double hi) {
  Tensor t = empty(shape, opt);
  const int64_t n = t.numel();
  const uint64_t seed = gen.seed(), off = gen.take(n);
  if (t.is_cuda()) {
    check_cuda_float("rand", t);
    CSG_CUDA_CALL("rand", kernels::fill_uniform_f32(t.data<float>(), n, seed, off, lo, hi));
    return t;
  }
  dispatch_float(opt.dtype, "rand", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(uniform_in_range(counter_uniform(seed, off + i), lo, hi));
  });
  return t;
}

Tensor randn(const Shape& shape, Generator& gen, TensorOptions opt) {
  Tensor t = empty(shape, opt);
  const int64_t n = t.numel();
  const uint64_t seed = gen.seed(), off = gen.take(2 * n);
  if (t.is_cuda()) {
    check_cuda_float("randn", t);
    CSG_CUDA_CALL("randn", kernels::fill_normal_f32(t.data<float>(), n, seed, off));
    return t;
  }
  dispatch_float(opt.dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {  // Box-Muller, as kernels/copy.cu (equal there to a few ulps)
      float u1 = counter_uniform(seed, off + 2 * i), u2 = counter_uniform(seed, off + 2 * i + 1);
      p[i] = static_cast<T>(std::sqrt(-2.0f * std::log(1.0f - u1)) * std::cos(6.28318530717958647692f * u2));
    }
  });
  return t;
}

}  // namespace csg
