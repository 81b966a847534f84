// src/ops/conv2d_cpu.cpp — convolution on the CPU as im2col + GEMM.
//
// The batch is processed in groups of g images, g chosen so the column buffer
// col [C*KH*KW, g*OH*OW] stays under kScratchBudget: one large GEMM per group keeps OpenBLAS
// efficient even when OH*OW is small (deep ResNet stages), while memory stays bounded.
//   forward:  out_g [O, g*OH*OW] = W [O, C*KH*KW] · col, then scattered to NCHW (+ bias)
//   backward: dy_g [O, g*OH*OW] gathered from NCHW;
//             dW += dy_g · col^T            (col recomputed from x: nothing saved but x)
//             dcol = W^T · dy_g, then col2im into dx
//             db = sum of dy over N, OH, OW
// im2col / col2im / scatter / gather are OpenMP loops; GEMMs run between the parallel
// regions (OpenBLAS threads itself).
#include "src/ops/conv2d_cpu.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "csg/error.h"

#include "src/core/host_scratch.h"
#include "src/ops/blas.h"
#include "src/ops/im2col.h"

namespace csg::conv2d_cpu {

namespace {

// Column and staging buffers are kept between calls, per thread, grow-only (see HostScratch).
template <class T>
T* scratch(int slot, int64_t n) {
  thread_local HostScratch buffers[2];
  const size_t need = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
  return static_cast<T*>(buffers[slot].reserve(need, "conv2d: im2col scratch"));
}

using conv_columns::col2im;
using conv_columns::gather_images;
using conv_columns::im2col;
using conv_columns::scatter_images;
using conv_columns::images_per_group;

}  // namespace

template <class T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;
  const int64_t G = images_per_group(s, sizeof(T));
  T* col = scratch<T>(0, rows * G * OHW);
  T* out = G > 1 ? scratch<T>(1, s.O * G * OHW) : nullptr;
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    im2col(s, x + n0 * x_image, g, col);
    T* y0 = y + n0 * y_image;
    if (g == 1) {  // [O, OH*OW] is already this image's NCHW layout: GEMM straight into y
      if (b) {
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < s.O; ++o) std::fill(y0 + o * OHW, y0 + (o + 1) * OHW, b[o]);
      }
      blas::gemm(false, false, s.O, OHW, rows, T(1), w, rows, col, OHW, b ? T(1) : T(0), y0, OHW);
      continue;
    }
    blas::gemm(false, false, s.O, cols, rows, T(1), w, rows, col, cols, T(0), out, cols);
    scatter_images(s, out, g, b, y0);  // [O, g, OH*OW] -> [g, O, OH*OW], adding the bias
  }
}

// The forward above with the inference epilogue (conv2d_cpu.h). Kept apart so that training
// keeps its arithmetic (bias first, then the GEMM) bit for bit.
template <class T>
void forward_fused(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y, const Epilogue<T>& e) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;
  const int64_t y_stride = e.y_image_stride > 0 ? e.y_image_stride : y_image;
  const bool pointwise = s.KH == 1 && s.KW == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
  // Large 1x1 maps: one GEMM per image straight from x beats transposing the batch into col.
  const bool direct = pointwise && OHW >= 784;
  const int64_t G = direct ? 1 : images_per_group(s, sizeof(T));
  T* col = direct ? nullptr : scratch<T>(0, rows * G * OHW);
  T* out = G > 1 ? scratch<T>(1, s.O * G * OHW) : nullptr;
  // act(v + b[o] + residual) for one output plane; `from` may equal `to`.
  auto finish = [&](const T* from, T* to, int64_t o, const T* res) {
    const T bias = b ? b[o] : T(0);
    if (res && e.relu)
      for (int64_t p = 0; p < OHW; ++p) to[p] = std::max(from[p] + bias + res[p], T(0));
    else if (res)
      for (int64_t p = 0; p < OHW; ++p) to[p] = from[p] + bias + res[p];
    else if (e.relu)
      for (int64_t p = 0; p < OHW; ++p) to[p] = std::max(from[p] + bias, T(0));
    else
      for (int64_t p = 0; p < OHW; ++p) to[p] = from[p] + bias;
  };
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    const T* xg = x + n0 * x_image;
    const T* res0 = e.residual ? e.residual + n0 * y_image : nullptr;
    T* y0 = y + n0 * y_stride;
    if (g == 1) {  // [O, OH*OW] is this image's layout: GEMM into y, then one pass in place
      const T* src = xg;  // a 1x1 unpadded, unstrided column matrix is the image itself
      if (!pointwise) {
        im2col(s, xg, 1, col);
        src = col;
      }
      blas::gemm(false, false, s.O, OHW, rows, T(1), w, rows, src, OHW, T(0), y0, OHW);
#pragma omp parallel for schedule(static) if (y_image > 16384)
      for (int64_t o = 0; o < s.O; ++o) finish(y0 + o * OHW, y0 + o * OHW, o, res0 ? res0 + o * OHW : nullptr);
      continue;
    }
    im2col(s, xg, g, col);
    blas::gemm(false, false, s.O, cols, rows, T(1), w, rows, col, cols, T(0), out, cols);
    // [O, g, OH*OW] -> [g, O, OH*OW] with the epilogue on the way.
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t img = 0; img < g; ++img)
      for (int64_t o = 0; o < s.O; ++o)
        finish(out + o * cols + img * OHW, y0 + img * y_stride + o * OHW, o,
               res0 ? res0 + img * y_image + o * OHW : nullptr);
  }
}

template <class T>
void channel_sums(const T* x, int64_t N, int64_t C, int64_t inner, T* sums) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    T acc = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * inner;
      // Vector lanes of partial sums: one running sum waits on each add, slower than reading x.
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < inner; ++i) acc += p[i];
    }
    sums[c] = acc;
  }
}

template <class T>
void bias_gradient(const Conv2dShape& s, const T* dy, T* db) {
  channel_sums(dy, s.N, s.O, s.OH * s.OW, db);
}

template <class T>
void backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;

  if (db) bias_gradient(s, dy, db);
  if (!dx && !dw) return;
  if (dw && s.N == 0) std::fill(dw, dw + s.O * rows, T(0));

  const int64_t G = images_per_group(s, sizeof(T));
  T* col = scratch<T>(0, rows * G * OHW);
  T* dy_group = G > 1 ? scratch<T>(1, s.O * G * OHW) : nullptr;
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    const T* dy0 = dy + n0 * y_image;
    // dy of the group as one matrix [O, g*OH*OW] (for a single image that is dy itself).
    const T* dyg = dy0;
    if (g > 1) {
      gather_images(s, dy0, g, dy_group);
      dyg = dy_group;
    }
    if (dw) {
      im2col(s, x + n0 * x_image, g, col);
      blas::gemm(false, true, s.O, rows, cols, T(1), dyg, cols, col, cols, n0 == 0 ? T(0) : T(1), dw, rows);
    }
    if (dx) {
      blas::gemm(true, false, rows, cols, s.O, T(1), w, rows, dyg, cols, T(0), col, cols);
      col2im(s, col, g, dx + n0 * x_image);
    }
  }
}

template void forward<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void forward<double>(const Conv2dShape&, const double*, const double*, const double*, double*);
template void forward_fused<float>(const Conv2dShape&, const float*, const float*, const float*, float*,
                                   const Epilogue<float>&);
template void forward_fused<double>(const Conv2dShape&, const double*, const double*, const double*, double*,
                                    const Epilogue<double>&);
template void channel_sums<float>(const float*, int64_t, int64_t, int64_t, float*);
template void channel_sums<double>(const double*, int64_t, int64_t, int64_t, double*);
template void bias_gradient<float>(const Conv2dShape&, const float*, float*);
template void bias_gradient<double>(const Conv2dShape&, const double*, double*);
template void backward<float>(const Conv2dShape&, const float*, const float*, const float*, float*, float*, float*);
template void backward<double>(const Conv2dShape&, const double*, const double*, const double*, double*, double*,
                               double*);

}  // namespace csg::conv2d_cpu
