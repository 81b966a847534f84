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

namespace csg::conv2d_cpu {

namespace {

// Upper bound on each scratch buffer (the column buffer [C*KH*KW, g*OH*OW] and the staging
// buffer [O, g*OH*OW]), in bytes. Within it, the larger the group the better: fewer, larger
// GEMMs and parallel regions (measured on the ResNet 3x3 benchmark shape).
constexpr int64_t kScratchBudget = int64_t(64) << 20;

int64_t images_per_group(const Conv2dShape& s, size_t elem_size) {
  const int64_t rows = std::max(s.C * s.KH * s.KW, s.O);
  const int64_t per_image = std::max<int64_t>(rows * s.OH * s.OW * int64_t(elem_size), 1);
  return std::clamp<int64_t>(kScratchBudget / per_image, 1, std::max<int64_t>(s.N, 1));
}

// Column and staging buffers are kept between calls, per thread, grow-only (see HostScratch).
template <class T>
T* scratch(int slot, int64_t n) {
  thread_local HostScratch buffers[2];
  const size_t need = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
  return static_cast<T*>(buffers[slot].reserve(need, "conv2d: im2col scratch"));
}

// The outputs o in [lo, hi) whose input o*stride + i0 lies inside [0, n), for an output of
// length out: the same formula serves rows (oh, H) and columns (ow, W).
struct ValidRange {
  int64_t lo, hi;
};
ValidRange valid_range(int64_t i0, int64_t stride, int64_t n, int64_t out) {
  int64_t lo = i0 >= 0 ? 0 : (-i0 + stride - 1) / stride;
  int64_t hi = n - 1 - i0 >= 0 ? std::min(out, (n - 1 - i0) / stride + 1) : 0;
  lo = std::min(lo, hi);
  return {lo, hi};
}

// Where kernel tap (kh, kw) reads: input offsets ih0/iw0 of output (0, 0), and the output rows
// and columns whose input lies inside the image. One per tap, computed once per call rather
// than once per image and channel (the small maps of deep stages made that overhead dominate).
struct Tap {
  int64_t ih0, iw0;
  ValidRange rows, cols;
};
std::vector<Tap> taps(const Conv2dShape& s) {
  std::vector<Tap> t(s.KH * s.KW);
  for (int64_t kh = 0; kh < s.KH; ++kh)
    for (int64_t kw = 0; kw < s.KW; ++kw) {
      Tap& k = t[kh * s.KW + kw];
      k.ih0 = kh * s.dilation_h - s.pad_h;
      k.iw0 = kw * s.dilation_w - s.pad_w;
      k.rows = valid_range(k.ih0, s.stride_h, s.H, s.OH);
      k.cols = valid_range(k.iw0, s.stride_w, s.W, s.OW);
    }
  return t;
}

// col[r, img*OH*OW + oh*OW + ow] = x[img, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] (0 outside),
// r = (c*KH + kh)*KW + kw, for the g images starting at x. One task per row r: it writes one
// contiguous row of col, image after image.
template <class T>
void im2col(const Conv2dShape& s, const T* x, int64_t g, T* col) {
  const int64_t KK = s.KH * s.KW, rows = s.C * KK, OHW = s.OH * s.OW, ld = g * OHW;
  const std::vector<Tap> tap = taps(s);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const Tap& k = tap[r % KK];
    const int64_t c = r / KK;
    for (int64_t img = 0; img < g; ++img) {
      const T* plane = x + (img * s.C + c) * s.H * s.W;
      T* out = col + r * ld + img * OHW;
      std::fill(out, out + k.rows.lo * s.OW, T(0));
      for (int64_t oh = k.rows.lo; oh < k.rows.hi; ++oh) {
        T* o = out + oh * s.OW;
        const T* in = plane + (oh * s.stride_h + k.ih0) * s.W + k.iw0;
        std::fill(o, o + k.cols.lo, T(0));
        if (s.stride_w == 1) {
          std::memcpy(o + k.cols.lo, in + k.cols.lo, (k.cols.hi - k.cols.lo) * sizeof(T));
        } else {
          for (int64_t ow = k.cols.lo; ow < k.cols.hi; ++ow) o[ow] = in[ow * s.stride_w];
        }
        std::fill(o + k.cols.hi, o + s.OW, T(0));
      }
      std::fill(out + k.rows.hi * s.OW, out + OHW, T(0));
    }
  }
}

// The adjoint of im2col: dx[img, c, ...] = sum of the col entries that read it, for the g
// images starting at dx (overwritten). Each (image, channel) plane is one task, so no two
// threads write the same element.
template <class T>
void col2im(const Conv2dShape& s, const T* col, int64_t g, T* dx) {
  const int64_t KK = s.KH * s.KW, OHW = s.OH * s.OW, ld = g * OHW;
  const std::vector<Tap> tap = taps(s);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t img = 0; img < g; ++img)
    for (int64_t c = 0; c < s.C; ++c) {
      T* plane = dx + (img * s.C + c) * s.H * s.W;
      std::fill(plane, plane + s.H * s.W, T(0));
      for (int64_t t = 0; t < KK; ++t) {
        const Tap& k = tap[t];
        const T* in = col + (c * KK + t) * ld + img * OHW;
        for (int64_t oh = k.rows.lo; oh < k.rows.hi; ++oh) {
          T* row = plane + (oh * s.stride_h + k.ih0) * s.W + k.iw0;
          const T* src = in + oh * s.OW;
          if (s.stride_w == 1) {  // contiguous: let the compiler vectorise
            for (int64_t ow = k.cols.lo; ow < k.cols.hi; ++ow) row[ow] += src[ow];
          } else {
            for (int64_t ow = k.cols.lo; ow < k.cols.hi; ++ow) row[ow * s.stride_w] += src[ow];
          }
        }
      }
    }
}

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
    // [O, g, OH*OW] -> [g, O, OH*OW], adding the bias on the way.
    const T* src = out;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t img = 0; img < g; ++img)
      for (int64_t o = 0; o < s.O; ++o) {
        const T* from = src + o * cols + img * OHW;
        T* to = y0 + img * y_image + o * OHW;
        const T bias = b ? b[o] : T(0);
        for (int64_t p = 0; p < OHW; ++p) to[p] = from[p] + bias;
      }
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
void backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;

  if (db) {
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < s.O; ++o) {
      T acc = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* p = dy + n * y_image + o * OHW;
        for (int64_t i = 0; i < OHW; ++i) acc += p[i];
      }
      db[o] = acc;
    }
  }
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
      T* dst = dy_group;
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t img = 0; img < g; ++img)
        for (int64_t o = 0; o < s.O; ++o)
          std::memcpy(dst + o * cols + img * OHW, dy0 + img * y_image + o * OHW, OHW * sizeof(T));
      dyg = dst;
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
template void backward<float>(const Conv2dShape&, const float*, const float*, const float*, float*, float*, float*);
template void backward<double>(const Conv2dShape&, const double*, const double*, const double*, double*, double*,
                               double*);

}  // namespace csg::conv2d_cpu
