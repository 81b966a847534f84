// src/ops/softmax.cpp — softmax and log_softmax along any dim.
//
// The input is made contiguous and viewed as [outer, dim, inner] (src/ops/dim_lanes.h);
// each lane is normalised with its maximum subtracted, so large logits cannot overflow.
// Backward uses only the saved output y:
//   softmax:     gx = y * (g - sum_dim(g * y))
//   log_softmax: gx = g - exp(y) * sum_dim(g)
#include <cmath>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/softmax.h"
#include "src/core/dispatch.h"
#include "src/ops/dim_lanes.h"

namespace csg {
namespace {

template <class T>
void softmax_forward_cpu(const T* x, T* y, const DimSplit& s, bool log_output) {
  parallel_lane_blocks(s, [&](int64_t, int64_t base, int64_t, int64_t width) {
    T max_v[kLaneBlock];
    double sum_exp[kLaneBlock];
    lane_max_sum_exp(x, base, width, s, max_v, sum_exp);
    T norm[kLaneBlock];  // log(sum) for log_softmax, 1/sum for softmax
    for (int64_t j = 0; j < width; ++j)
      norm[j] = static_cast<T>(log_output ? std::log(sum_exp[j]) : 1.0 / sum_exp[j]);
    for (int64_t k = 0; k < s.dim; ++k) {
      const T* row = x + base + k * s.inner;
      T* out = y + base + k * s.inner;
      if (log_output) {
        for (int64_t j = 0; j < width; ++j) out[j] = (row[j] - max_v[j]) - norm[j];
      } else {
        for (int64_t j = 0; j < width; ++j) out[j] = std::exp(row[j] - max_v[j]) * norm[j];
      }
    }
  });
}

template <class T>
void softmax_backward_cpu(const T* y, const T* g, T* gx, const DimSplit& s, bool log_output) {
  parallel_lane_blocks(s, [&](int64_t, int64_t base, int64_t, int64_t width) {
    double total[kLaneBlock];
    for (int64_t j = 0; j < width; ++j) total[j] = 0;
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) total[j] += log_output ? g[row + j] : g[row + j] * y[row + j];
    }
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) {
        const T t = static_cast<T>(total[j]);
        gx[row + j] = log_output ? g[row + j] - std::exp(y[row + j]) * t : y[row + j] * (g[row + j] - t);
      }
    }
  });
}

Tensor softmax_backward(const char* op, const Tensor& y, const Tensor& g_in, const DimSplit& s, bool log_output) {
  Tensor g = g_in.contiguous();
  Tensor gx = empty(y.shape(), y.options());
  if (y.is_cuda()) {
    CSG_CUDA_CALL(op, kernels::softmax_backward_f32(y.data<float>(), g.data<float>(), gx.data<float>(), s.outer, s.dim,
                                                    s.inner, log_output));
  } else {
    dispatch_float(y.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      softmax_backward_cpu<T>(y.data<T>(), g.data<T>(), gx.data<T>(), s, log_output);
    });
  }
  return gx;
}

Tensor softmax_op(const char* op, const Tensor& x_in, int64_t dim, bool log_output) {
  check_float(op, x_in, "input");
  const int64_t d = wrap_dim(op, dim, x_in.dim());
  Tensor x = x_in.detach().contiguous();
  const DimSplit s = split_at_dim(x.shape(), d);
  Tensor y = empty(x.shape(), x.options());
  if (x.is_cuda()) {
    CSG_CUDA_CALL(op, kernels::softmax_forward_f32(x.data<float>(), y.data<float>(), s.outer, s.dim, s.inner,
                                                   log_output));
  } else {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      softmax_forward_cpu<T>(x.data<T>(), y.data<T>(), s, log_output);
    });
  }
  if (!any_requires_grad({x_in})) return y;
  Saved saved_y(y);
  return record(op, y, {x_in}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {softmax_backward(op, saved_y.get(op), g, s, log_output)};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", x, dim, true); }

}  // namespace csg
