// src/ops/pool.cpp — max_pool2d, avg_pool2d, adaptive_avg_pool2d and global_avg_pool.
//
// The window arithmetic and the per-element loop bodies live in kernels/pool.h and are the
// same code on the CPU (an OpenMP loop here) and on CUDA (kernels/pool.cu); max pooling's CPU
// loops walk rows instead of flat indices (max_pool2d_forward_cpu / _backward_cpu below).
#include <algorithm>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/pool.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {

// PyTorch's pooling_output_shape: floor (or ceil) of the padded extent over the stride,
// and in ceil mode the last window must start inside the input or its left padding.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, bool ceil_mode) {
  const int64_t numer = in + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
  const int64_t q = numer >= 0 ? numer / stride : -((-numer + stride - 1) / stride);  // floor division
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void check_pool_input(const char* op, const Tensor& x) {
  check_float(op, x, "input");
  CSG_CHECK(x.dim() == 4, op, ": input must be 4-D [N,C,H,W], got ", x.describe());
  CSG_CHECK(x.size(2) > 0 && x.size(3) > 0, op, ": input has an empty spatial size: ", x.describe());
}

PoolGeometry windowed_geometry(const char* op, const Tensor& x, const Pool2dOptions& opt) {
  CSG_CHECK(opt.kernel_h > 0 && opt.kernel_w > 0, op, ": kernel must be positive, got ", opt.kernel_h, "x",
            opt.kernel_w);
  CSG_CHECK(opt.stride_h > 0 && opt.stride_w > 0, op, ": stride must be positive, got ", opt.stride_h, "x",
            opt.stride_w);
  CSG_CHECK(opt.pad_h >= 0 && opt.pad_w >= 0 && opt.pad_h <= opt.kernel_h / 2 && opt.pad_w <= opt.kernel_w / 2, op,
            ": padding ", opt.pad_h, "x", opt.pad_w, " must be between 0 and half the kernel ", opt.kernel_h, "x",
            opt.kernel_w);
  PoolGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.kernel_h = opt.kernel_h;
  g.kernel_w = opt.kernel_w;
  g.stride_h = opt.stride_h;
  g.stride_w = opt.stride_w;
  g.pad_h = opt.pad_h;
  g.pad_w = opt.pad_w;
  g.count_include_pad = opt.count_include_pad;
  g.out_h = pooled_size(g.in_h, g.kernel_h, g.pad_h, g.stride_h, opt.ceil_mode);
  g.out_w = pooled_size(g.in_w, g.kernel_w, g.pad_w, g.stride_w, opt.ceil_mode);
  CSG_CHECK(g.out_h > 0 && g.out_w > 0, op, ": input ", x.describe(), " is too small for kernel ", opt.kernel_h, "x",
            opt.kernel_w, " with padding ", opt.pad_h, "x", opt.pad_w, " (output would be ", g.out_h, "x", g.out_w,
            ")");
  return g;
}

Shape output_shape(const Tensor& x, const PoolGeometry& g) { return {x.size(0), x.size(1), g.out_h, g.out_w}; }

// out[i] = body(i) for i in [0, n), in parallel.
template <class Body>
void cpu_loop(int64_t n, Body body) {
#pragma omp parallel for if (n > 4096)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Max pooling on the CPU, one output row at a time: the window's rows are found once per row, and
// each kernel tap updates the whole row with selects. Per output this is max_pool2d_window's scan
// (kernels/pool.h) in the same order, so ties and NaNs resolve the same way (the first maximum,
// the first NaN); per element, with a data-dependent branch per tap, it was 7% of a ResNet-18
// training step's samples.
template <class T>
void max_pool2d_forward_cpu(const T* x, T* y, int64_t* argmax, const PoolGeometry& geometry) {
  const PoolGeometry g = geometry;  // a copy: writes through argmax (int64_t) could alias its fields
  const int64_t rows = g.planes * g.out_h;
#pragma omp parallel for schedule(static) if (rows * g.out_w > 4096)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xp = x + (r / g.out_h) * g.in_h * g.in_w;
    const PoolWindow rows_of = pool_window(g, r % g.out_h, 0);  // h0, h1 do not depend on ow
    T* yr = y + r * g.out_w;
    int64_t* ar = argmax + r * g.out_w;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {  // start from each window's first element
      const int64_t first = rows_of.h0 * g.in_w + pool_max(ow * g.stride_w - g.pad_w, 0);
      yr[ow] = xp[first];
      ar[ow] = first;
    }
    for (int64_t h = rows_of.h0; h < rows_of.h1; ++h)
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        // Outputs whose tap kw reads a column inside the input: 0 <= ow*stride - pad + kw < in_w.
        const int64_t shift = kw - g.pad_w;
        const int64_t lo = shift >= 0 ? 0 : (-shift + g.stride_w - 1) / g.stride_w;
        const int64_t hi = pool_min(g.out_w, g.in_w - shift > 0 ? (g.in_w - shift - 1) / g.stride_w + 1 : 0);
        const T* xr = xp + h * g.in_w + shift;
        const int64_t base = h * g.in_w + shift;
        for (int64_t ow = lo; ow < hi; ++ow) {
          const T v = xr[ow * g.stride_w], best = yr[ow];
          const bool wins = (v > best) | ((v != v) & (best == best));
          yr[ow] = wins ? v : best;
          ar[ow] = wins ? base + ow * g.stride_w : ar[ow];
        }
      }
  }
}

// dx = 0, then each output's gradient added at its argmax, plane by plane (an argmax stays in its
// plane, so planes run in parallel). Every input element receives its windows' gradients in the
// same (oh, ow) order as max_pool2d_input_grad gathers them: the sums are the same bit for bit
// (MaxPool.CpuGradientEqualsThePerElementGather).
template <class T>
void max_pool2d_backward_cpu(const T* dy, const int64_t* argmax, T* dx, const PoolGeometry& g) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * in_plane > 4096)
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_plane;
    std::fill(dxp, dxp + in_plane, T(0));
    const T* dyp = dy + p * out_plane;
    const int64_t* ap = argmax + p * out_plane;
    for (int64_t o = 0; o < out_plane; ++o) dxp[ap[o]] += dyp[o];
  }
}

// Average-type pools (avg, adaptive avg) differ only in their bodies and launchers.
enum class AvgKind { Window, Adaptive };

Tensor avg_forward(const char* op, AvgKind kind, const Tensor& x_in, const PoolGeometry& g) {
  Tensor x = x_in.detach().contiguous();
  Tensor y = empty(output_shape(x, g), x.options());
  if (x.is_cuda()) {
    if (kind == AvgKind::Window)
      CSG_CUDA_CALL(op, kernels::avg_pool2d_forward_f32(x.data<float>(), y.data<float>(), g));
    else
      CSG_CUDA_CALL(op, kernels::adaptive_avg_pool2d_forward_f32(x.data<float>(), y.data<float>(), g));
    return y;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if (kind == AvgKind::Window)
      cpu_loop(y.numel(), [&](int64_t i) { avg_pool2d_output(px, py, g, i); });
    else
      cpu_loop(y.numel(), [&](int64_t i) { adaptive_avg_pool2d_output(px, py, g, i); });
  });
  return y;
}

Tensor avg_backward(const char* op, AvgKind kind, const Tensor& gy_in, const Shape& x_shape, const PoolGeometry& g) {
  Tensor gy = gy_in.contiguous();
  Tensor gx = empty(x_shape, gy.options());
  if (gy.is_cuda()) {
    if (kind == AvgKind::Window)
      CSG_CUDA_CALL(op, kernels::avg_pool2d_backward_f32(gy.data<float>(), gx.data<float>(), g));
    else
      CSG_CUDA_CALL(op, kernels::adaptive_avg_pool2d_backward_f32(gy.data<float>(), gx.data<float>(), g));
    return gx;
  }
  dispatch_float(gy.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pgy = gy.data<T>();
    T* pgx = gx.data<T>();
    if (kind == AvgKind::Window)
      cpu_loop(gx.numel(), [&](int64_t i) { avg_pool2d_input_grad(pgy, pgx, g, i); });
    else
      cpu_loop(gx.numel(), [&](int64_t i) { adaptive_avg_pool2d_input_grad(pgy, pgx, g, i); });
  });
  return gx;
}

Tensor avg_pool(const char* op, AvgKind kind, const Tensor& x, const PoolGeometry& g) {
  Tensor y = avg_forward(op, kind, x, g);
  Shape x_shape = x.shape();
  return record(op, y, {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
    return {avg_backward(op, kind, gy, x_shape, g)};
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dOptions& opt) {
  const char* op = "max_pool2d";
  check_pool_input(op, x_in);
  const PoolGeometry g = windowed_geometry(op, x_in, opt);
  Tensor x = x_in.detach().contiguous();
  Tensor y = empty(output_shape(x, g), x.options());
  // The flat index (h*W + w within its plane) of each window's maximum, for backward.
  Tensor argmax = empty(y.shape(), {DType::I64, x.device()});
  if (x.is_cuda()) {
    CSG_CUDA_CALL(op, kernels::max_pool2d_forward_f32(x.data<float>(), y.data<float>(), argmax.data<int64_t>(), g));
  } else {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      int64_t* pa = argmax.data<int64_t>();
      max_pool2d_forward_cpu(px, py, pa, g);
    });
  }
  Shape x_shape = x.shape();
  return record(op, y, {x_in}, [=](const Tensor& gy_in) -> std::vector<Tensor> {
    Tensor gy = gy_in.contiguous();
    Tensor gx = empty(x_shape, gy.options());
    if (gy.is_cuda()) {
      CSG_CUDA_CALL(op, kernels::max_pool2d_backward_f32(gy.data<float>(), argmax.data<int64_t>(), gx.data<float>(), g));
    } else {
      dispatch_float(gy.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* pgy = gy.data<T>();
        const int64_t* pa = argmax.data<int64_t>();
        T* pgx = gx.data<T>();
        max_pool2d_backward_cpu(pgy, pa, pgx, g);
      });
    }
    return {gx};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt) {
  const char* op = "avg_pool2d";
  check_pool_input(op, x);
  return avg_pool(op, AvgKind::Window, x, windowed_geometry(op, x, opt));
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "adaptive_avg_pool2d";
  check_pool_input(op, x);
  CSG_CHECK(out_h > 0 && out_w > 0, op, ": output size must be positive, got ", out_h, "x", out_w, " for input ",
            x.describe());
  PoolGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.out_h = out_h;
  g.out_w = out_w;
  return avg_pool(op, AvgKind::Adaptive, x, g);
}

Tensor global_avg_pool(const Tensor& x) {
  check_pool_input("global_avg_pool", x);
  // The mean over H*W is a row reduction of the contiguous [N*C, H*W] view; mean() already
  // does exactly that on both devices, with its backward.
  return mean(x, {2, 3});
}

}  // namespace csg
