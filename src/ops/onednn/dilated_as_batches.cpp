// src/ops/onednn/dilated_as_batches.cpp — see dilated_as_batches.h.
#include "src/ops/onednn/dilated_as_batches.h"

#ifdef CSG_WITH_DNNL

#include <cstring>

#include "src/ops/onednn/conv_geometry.h"

namespace csg::onednn {

namespace {

int64_t phase_size(int64_t n, int64_t d) { return (n + d - 1) / d; }

// Calls f(phase, image, k, sub_row, row) for every row of every phase's sub-image, in parallel;
// `row` is the input row it comes from (>= H: past the edge). The phases are the inner loop, so
// the d phases that read one input row do so while it is in cache.
template <class F>
void for_each_phase_row(int64_t N, int64_t K, int64_t H, int64_t d, F&& f) {
  const int64_t Hs = phase_size(H, d);
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < Hs; ++i)
        for (int64_t p = 0; p < d * d; ++p) f(p, n, k, i, i * d + p / d);
}

}  // namespace

kernels::Conv2dShape batched_shape(const kernels::Conv2dShape& s) {
  const int64_t d = s.dilation_h, H = phase_size(s.H, d), W = phase_size(s.W, d);
  return {d * d * s.N, s.C, H, W, s.O, 3, 3, H, W, 1, 1, 1, 1, 1, 1};
}

bool dilated_as_batches(const kernels::Conv2dShape& s) {
  const int64_t d = s.dilation_h;
  return s.KH == 3 && s.KW == 3 && s.stride_h == 1 && s.stride_w == 1 && d > 1 && s.dilation_w == d &&
         s.pad_h == d && s.pad_w == d && s.OH == s.H && s.OW == s.W && winograd_for_changing_weights(batched_shape(s));
}

void space_to_batch(const float* x, float* out, int64_t N, int64_t K, int64_t H, int64_t W, int64_t vec, int64_t d) {
  const int64_t Hs = phase_size(H, d), Ws = phase_size(W, d);
  for_each_phase_row(N, K, H, d, [&](int64_t p, int64_t n, int64_t k, int64_t i, int64_t row) {
    float* o = out + (((p * N + n) * K + k) * Hs + i) * Ws * vec;
    if (row >= H) {
      std::memset(o, 0, sizeof(float) * Ws * vec);
      return;
    }
    const float* src = x + ((n * K + k) * H + row) * W * vec;
    if (vec == 1) {  // plain tensors (training): element by element, no call per element
      for (int64_t j = 0, col = p % d; j < Ws; ++j, col += d) o[j] = col < W ? src[col] : 0.0f;
      return;
    }
    for (int64_t j = 0, col = p % d; j < Ws; ++j, col += d) {
      if (col < W) std::memcpy(o + j * vec, src + col * vec, sizeof(float) * vec);
      else std::memset(o + j * vec, 0, sizeof(float) * vec);
    }
  });
}

void batch_to_space(const float* y, float* out, int64_t N, int64_t K, int64_t H, int64_t W, int64_t vec, int64_t d) {
  const int64_t Hs = phase_size(H, d), Ws = phase_size(W, d);
  for_each_phase_row(N, K, H, d, [&](int64_t p, int64_t n, int64_t k, int64_t i, int64_t row) {
    if (row >= H) return;
    const float* src = y + (((p * N + n) * K + k) * Hs + i) * Ws * vec;
    float* o = out + ((n * K + k) * H + row) * W * vec;
    if (vec == 1) {
      for (int64_t j = 0, col = p % d; j < Ws && col < W; ++j, col += d) o[col] = src[j];
      return;
    }
    for (int64_t j = 0, col = p % d; j < Ws && col < W; ++j, col += d)
      std::memcpy(o + col * vec, src + j * vec, sizeof(float) * vec);
  });
}

}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
