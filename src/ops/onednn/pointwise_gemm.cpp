// src/ops/onednn/pointwise_gemm.cpp — see pointwise_gemm.h. One sgemm per image, each on the
// engine's OpenMP threads: an image's [C, H*W] is its NCHW layout, so nothing is copied.
#include "src/ops/onednn/pointwise_gemm.h"

#ifdef CSG_WITH_DNNL

#include <algorithm>

#include "src/ops/conv2d_cpu.h"
#include "src/ops/onednn/blas.h"

namespace csg::onednn::pointwise_gemm {

bool takes(const kernels::Conv2dShape& s) {
  return s.KH == 1 && s.KW == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0 &&
         s.OH * s.OW >= 28 * 28;
}

void forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const int64_t HW = s.OH * s.OW;
  for (int64_t n = 0; n < s.N; ++n) {
    float* yn = y + n * s.O * HW;
    if (b) {  // the bias first, then the product added to it
#pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < s.O; ++o) std::fill(yn + o * HW, yn + (o + 1) * HW, b[o]);
    }
    gemm(false, false, s.O, HW, s.C, 1.0f, w, s.C, x + n * s.C * HW, HW, b ? 1.0f : 0.0f, yn, HW);
  }
}

void backward_data(const kernels::Conv2dShape& s, const float* w, const float* dy, float* dx) {
  const int64_t HW = s.OH * s.OW;
  for (int64_t n = 0; n < s.N; ++n)
    gemm(true, false, s.C, HW, s.O, 1.0f, w, s.C, dy + n * s.O * HW, HW, 0.0f, dx + n * s.C * HW, HW);
}

void backward_weights(const kernels::Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) {
  const int64_t HW = s.OH * s.OW;
  if (s.N == 0) std::fill(dw, dw + s.O * s.C, 0.0f);
  for (int64_t n = 0; n < s.N; ++n)
    gemm(false, true, s.O, s.C, HW, 1.0f, dy + n * s.O * HW, HW, x + n * s.C * HW, HW, n > 0 ? 1.0f : 0.0f, dw, s.C);
  if (db) conv2d_cpu::bias_gradient(s, dy, db);
}

}  // namespace csg::onednn::pointwise_gemm

#endif  // CSG_WITH_DNNL
