// src/ops/dropout.cpp — inverted dropout with a counter-based mask.
//
// Element i of a call is kept iff counter_uniform(seed, offset + i) >= p, where offset
// reserves numel counters from the generator; kept elements are scaled by 1/(1-p). The
// mask is a pure function of (seed, offset, i), so CPU and CUDA agree bit for bit and
// backward recomputes it instead of storing it.
#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/dropout.h"
#include "src/core/dispatch.h"

namespace csg {
namespace {

constexpr const char* kOp = "dropout";

// y = mask(seed, offset) * x * scale for contiguous x (x is the input or the output gradient).
Tensor apply_mask(const Tensor& x_in, uint64_t seed, uint64_t offset, double p, double scale) {
  Tensor x = x_in.contiguous();
  Tensor y = empty(x.shape(), x.options());
  const int64_t n = x.numel();
  if (x.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::dropout_f32(x.data<float>(), y.data<float>(), n, seed, offset, p,
                                            static_cast<float>(scale)));
    return y;
  }
  dispatch_float(x.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T s = static_cast<T>(scale);  // float * float, as on CUDA: identical results
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) py[i] = dropout_keep(seed, offset, i, p) ? px[i] * s : T(0);
  });
  return y;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_float(kOp, x, "input");
  CSG_CHECK(p >= 0.0 && p <= 1.0, kOp, ": probability p must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;  // the identity: x itself, gradients flow unchanged
  const uint64_t seed = gen.seed(), offset = gen.take(static_cast<uint64_t>(x.numel()));
  const double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;  // p == 1 keeps nothing: all zeros
  Tensor y = apply_mask(x.detach(), seed, offset, p, scale);
  return record(kOp, y, {x}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {apply_mask(g, seed, offset, p, scale)};
  });
}

}  // namespace csg
