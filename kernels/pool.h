// kernels/pool.h — 2-D max / average / adaptive average pooling: the window arithmetic and
// the per-element bodies, shared verbatim by the CPU loops (src/ops/pool.cpp) and the CUDA
// kernels (kernels/pool.cu), plus the CUDA launchers. Plain C++ (no CUDA headers).
//
// Sharing the bodies is the point: ceil_mode's last window, the count_include_pad divisor,
// the first-maximum tie rule and the order of every sum are then the same code on both
// devices, so CPU and CUDA agree to the last bit on ties and to rounding on sums.
//
// Layout: x [planes = N*C, in_h, in_w] and y [planes, out_h, out_w], both contiguous.
// Backward passes are gathers (one thread / iteration per input element sums the output
// gradients of the windows that cover it): no atomics, deterministic, same order everywhere.
#pragma once
#include <cstdint>

#include "kernels/strided.h"  // CSG_HD

namespace csg {

struct PoolGeometry {
  int64_t planes = 0;  // N*C
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;  // unused by adaptive
  bool count_include_pad = true;                                                       // avg pool only
};

// One output's window, clipped to the input, and its average-pool divisor.
struct PoolWindow {
  int64_t h0, h1, w0, w1;  // rows [h0, h1), columns [w0, w1) of the input
  int64_t divisor;
};

CSG_HD int64_t pool_min(int64_t a, int64_t b) { return a < b ? a : b; }
CSG_HD int64_t pool_max(int64_t a, int64_t b) { return a > b ? a : b; }

// PyTorch's window: it starts at o*stride - pad and is first cut at the padded border
// (input + pad), which gives the count_include_pad divisor; then it is cut at the input.
// A ceil_mode window that runs past input + pad therefore does not count those positions.
CSG_HD PoolWindow pool_window(const PoolGeometry& g, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  int64_t h1 = pool_min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = pool_min(w0 + g.kernel_w, g.in_w + g.pad_w);
  const int64_t padded_area = (h1 - h0) * (w1 - w0);
  h0 = pool_max(h0, 0);
  w0 = pool_max(w0, 0);
  h1 = pool_min(h1, g.in_h);
  w1 = pool_min(w1, g.in_w);
  return {h0, h1, w0, w1, g.count_include_pad ? padded_area : (h1 - h0) * (w1 - w0)};
}

// Outputs [*first, *last) along one axis whose windows cover input position i.
CSG_HD void pool_covering(int64_t i, int64_t pad, int64_t kernel, int64_t stride, int64_t out, int64_t* first,
                          int64_t* last) {
  const int64_t p = i + pad;
  *first = p < kernel ? 0 : (p - kernel) / stride + 1;
  *last = pool_min(p / stride + 1, out);
}

// PyTorch's adaptive windows: [floor(o*in/out), ceil((o+1)*in/out)). The same formulas with
// in and out swapped give the outputs whose windows cover an input position.
CSG_HD int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return o * in / out; }
CSG_HD int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// ---- per-element bodies; i indexes y (forward) or x (backward) in row-major order --------

// The maximum of output (oh, ow)'s window in plane xp, and its flat index h*in_w + w within the
// plane. Ties go to the first maximum in row-major scan order; a NaN counts as a maximum (it
// propagates, as in PyTorch) and the first NaN wins.
template <class T>
CSG_HD void max_pool2d_window(const T* xp, const PoolGeometry& g, int64_t oh, int64_t ow, T* value, int64_t* index) {
  const PoolWindow win = pool_window(g, oh, ow);
  int64_t best = win.h0 * g.in_w + win.w0;
  T best_v = xp[best];
  for (int64_t h = win.h0; h < win.h1; ++h)
    for (int64_t w = win.w0; w < win.w1; ++w) {
      // Selects, not branches: which element wins is data-dependent, and mispredicted
      // branches made max pooling 6% of a ResNet-18 training step on the CPU.
      const T v = xp[h * g.in_w + w];
      const bool wins = (v > best_v) | ((v != v) & (best_v == best_v));
      best_v = wins ? v : best_v;
      best = wins ? h * g.in_w + w : best;
    }
  *value = best_v;
  *index = best;
}

// y[i] = the window's maximum; argmax[i] = its flat index within the plane.
template <class T>
CSG_HD void max_pool2d_output(const T* x, T* y, int64_t* argmax, const PoolGeometry& g, int64_t i) {
  const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
  max_pool2d_window(x + plane * g.in_h * g.in_w, g, oh, ow, &y[i], &argmax[i]);
}

// dx[i] = sum of dy over the windows whose argmax is input element i.
template <class T>
CSG_HD void max_pool2d_input_grad(const T* dy, const int64_t* argmax, T* dx, const PoolGeometry& g, int64_t i) {
  const int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
  const int64_t self = h * g.in_w + w, base = plane * g.out_h * g.out_w;
  int64_t oh0, oh1, ow0, ow1;
  pool_covering(h, g.pad_h, g.kernel_h, g.stride_h, g.out_h, &oh0, &oh1);
  pool_covering(w, g.pad_w, g.kernel_w, g.stride_w, g.out_w, &ow0, &ow1);
  T acc = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const int64_t o = base + oh * g.out_w + ow;
      if (argmax[o] == self) acc += dy[o];
    }
  dx[i] = acc;
}

template <class T>
CSG_HD void avg_pool2d_output(const T* x, T* y, const PoolGeometry& g, int64_t i) {
  const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
  const T* xp = x + plane * g.in_h * g.in_w;
  const PoolWindow win = pool_window(g, oh, ow);
  T acc = T(0);
  for (int64_t h = win.h0; h < win.h1; ++h)
    for (int64_t w = win.w0; w < win.w1; ++w) acc += xp[h * g.in_w + w];
  y[i] = acc / static_cast<T>(win.divisor);
}

// dx[i] = sum over the covering windows of dy / divisor.
template <class T>
CSG_HD void avg_pool2d_input_grad(const T* dy, T* dx, const PoolGeometry& g, int64_t i) {
  const int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
  const T* dyp = dy + plane * g.out_h * g.out_w;
  int64_t oh0, oh1, ow0, ow1;
  pool_covering(h, g.pad_h, g.kernel_h, g.stride_h, g.out_h, &oh0, &oh1);
  pool_covering(w, g.pad_w, g.kernel_w, g.stride_w, g.out_w, &ow0, &ow1);
  T acc = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow)
      acc += dyp[oh * g.out_w + ow] / static_cast<T>(pool_window(g, oh, ow).divisor);
  dx[i] = acc;
}

template <class T>
CSG_HD void adaptive_avg_pool2d_output(const T* x, T* y, const PoolGeometry& g, int64_t i) {
  const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
  const T* xp = x + plane * g.in_h * g.in_w;
  const int64_t h0 = adaptive_start(oh, g.in_h, g.out_h), h1 = adaptive_end(oh, g.in_h, g.out_h);
  const int64_t w0 = adaptive_start(ow, g.in_w, g.out_w), w1 = adaptive_end(ow, g.in_w, g.out_w);
  T acc = T(0);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) acc += xp[h * g.in_w + w];
  y[i] = acc / static_cast<T>((h1 - h0) * (w1 - w0));
}

template <class T>
CSG_HD void adaptive_avg_pool2d_input_grad(const T* dy, T* dx, const PoolGeometry& g, int64_t i) {
  const int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
  const T* dyp = dy + plane * g.out_h * g.out_w;
  const int64_t oh0 = adaptive_start(h, g.out_h, g.in_h), oh1 = adaptive_end(h, g.out_h, g.in_h);
  const int64_t ow0 = adaptive_start(w, g.out_w, g.in_w), ow1 = adaptive_end(w, g.out_w, g.in_w);
  T acc = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t kh = adaptive_end(oh, g.in_h, g.out_h) - adaptive_start(oh, g.in_h, g.out_h);
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const int64_t kw = adaptive_end(ow, g.in_w, g.out_w) - adaptive_start(ow, g.in_w, g.out_w);
      acc += dyp[oh * g.out_w + ow] / static_cast<T>(kh * kw);
    }
  }
  dx[i] = acc;
}

namespace kernels {
// CUDA launchers, float32, shapes as above (argmax [planes, out_h, out_w]).
void max_pool2d_forward_f32(const float* x, float* y, int64_t* argmax, const PoolGeometry& g);
void max_pool2d_backward_f32(const float* dy, const int64_t* argmax, float* dx, const PoolGeometry& g);
void avg_pool2d_forward_f32(const float* x, float* y, const PoolGeometry& g);
void avg_pool2d_backward_f32(const float* dy, float* dx, const PoolGeometry& g);
void adaptive_avg_pool2d_forward_f32(const float* x, float* y, const PoolGeometry& g);
void adaptive_avg_pool2d_backward_f32(const float* dy, float* dx, const PoolGeometry& g);
}  // namespace kernels

}  // namespace csg
