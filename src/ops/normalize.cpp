// src/ops/normalize.cpp — l2_normalize: x / max(||x||_2 along dim, eps), as torch.nn.functional.normalize.
//
// Forward keeps the per-lane norms ([outer, inner], small) next to the output y; backward
// needs nothing else:
//   norm >= eps:  gx = (g - y * sum_dim(g * y)) / norm   (y = x / norm)
//   norm <  eps:  gx = g / eps                            (the denominator is the constant eps)
// The branch test matches PyTorch's clamp_min, whose gradient passes where norm >= eps.
#include <algorithm>
#include <cmath>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/normalize.h"
#include "src/core/dispatch.h"
#include "src/ops/dim_lanes.h"

namespace csg {
namespace {

constexpr const char* kOp = "l2_normalize";

template <class T>
void l2_normalize_forward_cpu(const T* x, T* y, T* norm, const DimSplit& s, T eps) {
  parallel_lane_blocks(s, [&](int64_t, int64_t base, int64_t lane0, int64_t width) {
    double sum_sq[kLaneBlock] = {};
    for (int64_t k = 0; k < s.dim; ++k) {
      const T* row = x + base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) sum_sq[j] += static_cast<double>(row[j]) * row[j];
    }
    T denom[kLaneBlock];
    for (int64_t j = 0; j < width; ++j) {
      norm[lane0 + j] = static_cast<T>(std::sqrt(sum_sq[j]));
      denom[j] = std::max(norm[lane0 + j], eps);
    }
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) y[row + j] = x[row + j] / denom[j];
    }
  });
}

template <class T>
void l2_normalize_backward_cpu(const T* y, const T* norm, const T* g, T* gx, const DimSplit& s, T eps) {
  parallel_lane_blocks(s, [&](int64_t, int64_t base, int64_t lane0, int64_t width) {
    double dot[kLaneBlock] = {};
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) dot[j] += static_cast<double>(g[row + j]) * y[row + j];
    }
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) {
        const T n = norm[lane0 + j];
        gx[row + j] = n >= eps ? (g[row + j] - y[row + j] * static_cast<T>(dot[j])) / n : g[row + j] / eps;
      }
    }
  });
}

Tensor l2_normalize_backward(const Tensor& y, const Tensor& norm, const Tensor& g_in, const DimSplit& s,
                             double eps) {
  Tensor g = g_in.contiguous();
  Tensor gx = empty(y.shape(), y.options());
  if (y.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::l2_normalize_backward_f32(y.data<float>(), norm.data<float>(), g.data<float>(),
                                                          gx.data<float>(), s.outer, s.dim, s.inner,
                                                          static_cast<float>(eps)));
  } else {
    dispatch_float(y.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      l2_normalize_backward_cpu<T>(y.data<T>(), norm.data<T>(), g.data<T>(), gx.data<T>(), s, static_cast<T>(eps));
    });
  }
  return gx;
}

}  // namespace

Tensor l2_normalize(const Tensor& x_in, int64_t dim, double eps) {
  check_float(kOp, x_in, "input");
  CSG_CHECK(eps >= 0, kOp, ": eps must be >= 0, got ", eps);
  const int64_t d = wrap_dim(kOp, dim, x_in.dim());
  Tensor x = x_in.detach().contiguous();
  const DimSplit s = split_at_dim(x.shape(), d);
  Tensor y = empty(x.shape(), x.options());
  Tensor norm = empty({s.lanes()}, x.options());
  if (x.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::l2_normalize_forward_f32(x.data<float>(), y.data<float>(), norm.data<float>(),
                                                         s.outer, s.dim, s.inner, static_cast<float>(eps)));
  } else {
    dispatch_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      l2_normalize_forward_cpu<T>(x.data<T>(), y.data<T>(), norm.data<T>(), s, static_cast<T>(eps));
    });
  }
  if (!any_requires_grad({x_in})) return y;
  Saved saved_y(y), saved_norm(norm);
  return record(kOp, y, {x_in}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {l2_normalize_backward(saved_y.get(kOp), saved_norm.get(kOp), g, s, eps)};
  });
}

}  // namespace csg
