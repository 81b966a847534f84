// src/ops/im2col.h — the column matrix of a convolution and its adjoint, shared by the CPU
// convolutions that run as im2col + GEMM: conv2d_cpu (f32/f64, OpenBLAS or oneDNN sgemm) and
// the BF16 one on oneDNN's matmul (src/ops/onednn/conv2d_gemm.cpp, whose column matrix holds
// the BF16 bits of x, rounded by im2col's `cast`).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/conv2d.h"

namespace csg::conv_columns {

using kernels::Conv2dShape;

// Upper bound on each scratch buffer (the column buffer [C*KH*KW, g*OH*OW] and the staging
// buffer [O, g*OH*OW]), in bytes. Within it, the larger the group the better: fewer, larger
// GEMMs and parallel regions (measured on the ResNet 3x3 benchmark shape).
inline constexpr int64_t kScratchBudget = int64_t(64) << 20;

inline int64_t images_per_group(const Conv2dShape& s, size_t elem_size) {
  const int64_t rows = std::max(s.C * s.KH * s.KW, s.O);
  const int64_t per_image = std::max<int64_t>(rows * s.OH * s.OW * int64_t(elem_size), 1);
  return std::clamp<int64_t>(kScratchBudget / per_image, 1, std::max<int64_t>(s.N, 1));
}

// The outputs o in [lo, hi) whose input o*stride + i0 lies inside [0, n), for an output of
// length out: the same formula serves rows (oh, H) and columns (ow, W).
struct ValidRange {
  int64_t lo, hi;
};
inline ValidRange valid_range(int64_t i0, int64_t stride, int64_t n, int64_t out) {
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
inline std::vector<Tap> taps(const Conv2dShape& s) {
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

// Copies a value into the column matrix unchanged (im2col's default).
struct SameValue {
  template <class T>
  T operator()(T v) const { return v; }
};

// col[r, img*OH*OW + oh*OW + ow] = cast(x[img, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]) (0
// outside), r = (c*KH + kh)*KW + kw, for the g images starting at x. One task per row r: it
// writes one contiguous row of col, image after image. `cast` converts an input element into a
// column element (the BF16 convolution rounds x on the way: Out = its bits, uint16_t).
template <class T, class Out = T, class Cast = SameValue>
void im2col(const Conv2dShape& s, const T* x, int64_t g, Out* col, Cast cast = {}) {
  const int64_t KK = s.KH * s.KW, rows = s.C * KK, OHW = s.OH * s.OW, ld = g * OHW;
  const std::vector<Tap> tap = taps(s);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const Tap& k = tap[r % KK];
    const int64_t c = r / KK;
    for (int64_t img = 0; img < g; ++img) {
      const T* plane = x + (img * s.C + c) * s.H * s.W;
      Out* out = col + r * ld + img * OHW;
      std::fill(out, out + k.rows.lo * s.OW, Out(0));
      for (int64_t oh = k.rows.lo; oh < k.rows.hi; ++oh) {
        Out* o = out + oh * s.OW;
        const T* in = plane + (oh * s.stride_h + k.ih0) * s.W + k.iw0;
        std::fill(o, o + k.cols.lo, Out(0));
        if (std::is_same_v<Cast, SameValue> && std::is_same_v<T, Out> && s.stride_w == 1) {
          std::memcpy(o + k.cols.lo, in + k.cols.lo, (k.cols.hi - k.cols.lo) * sizeof(T));
        } else if (s.stride_w == 1) {
#pragma omp simd
          for (int64_t ow = k.cols.lo; ow < k.cols.hi; ++ow) o[ow] = cast(in[ow]);
        } else {
          for (int64_t ow = k.cols.lo; ow < k.cols.hi; ++ow) o[ow] = cast(in[ow * s.stride_w]);
        }
        std::fill(o + k.cols.hi, o + s.OW, Out(0));
      }
      std::fill(out + k.rows.hi * s.OW, out + OHW, Out(0));
    }
  }
}

// One GEMM serves a group of g images as one matrix [O, g*OH*OW]; these move between that matrix
// and the images' NCHW layout [g, O, OH*OW].
// y[img, o, :] = out[o, img*OH*OW + :] (+ b[o] when b), for the g images at y. `out` may be y itself
// when g == 1 (one image's matrix is its layout): then only the bias is added.
template <class T>
void scatter_images(const Conv2dShape& s, const T* out, int64_t g, const T* b, T* y) {
  const int64_t OHW = s.OH * s.OW, cols = g * OHW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t img = 0; img < g; ++img)
    for (int64_t o = 0; o < s.O; ++o) {
      const T* from = out + o * cols + img * OHW;
      T* to = y + (img * s.O + o) * OHW;
      const T bias = b ? b[o] : T(0);
      if (from != to || b)
        for (int64_t p = 0; p < OHW; ++p) to[p] = from[p] + bias;
    }
}

// d[o, img*OH*OW + :] = cast(dy[img, o, :]) for the g images at dy: their gradients as one matrix.
template <class T, class Out = T, class Cast = SameValue>
void gather_images(const Conv2dShape& s, const T* dy, int64_t g, Out* d, Cast cast = {}) {
  const int64_t OHW = s.OH * s.OW, cols = g * OHW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t img = 0; img < g; ++img)
    for (int64_t o = 0; o < s.O; ++o) {
      const T* from = dy + (img * s.O + o) * OHW;
      Out* to = d + o * cols + img * OHW;
      if constexpr (std::is_same_v<Cast, SameValue> && std::is_same_v<T, Out>) {
        std::memcpy(to, from, OHW * sizeof(T));
      } else {
#pragma omp simd
        for (int64_t p = 0; p < OHW; ++p) to[p] = cast(from[p]);
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

}  // namespace csg::conv_columns
