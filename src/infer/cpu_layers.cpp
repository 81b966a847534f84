// src/infer/cpu_layers.cpp — pooling, dense, resizing for the compiled CPU network.
#include "src/infer/cpu_layers.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/upsample.h"
#include "src/ops/blas.h"

namespace csg::infer::cpu {

void max_pool(const float* x, float* y, int64_t planes, int64_t H, int64_t W, const Pool2dOptions& o, int64_t OH,
              int64_t OW) {
#pragma omp parallel for schedule(static) if (planes * OH * OW > 16384)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = x + p * H * W;
    float* out = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t h0 = std::max<int64_t>(oh * o.stride_h - o.pad_h, 0);
      const int64_t h1 = std::min<int64_t>(oh * o.stride_h - o.pad_h + o.kernel_h, H);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t w0 = std::max<int64_t>(ow * o.stride_w - o.pad_w, 0);
        const int64_t w1 = std::min<int64_t>(ow * o.stride_w - o.pad_w + o.kernel_w, W);
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float v = in[h * W + w];
            if (v > m || std::isnan(v)) m = v;
          }
        out[oh * OW + ow] = m;
      }
    }
  }
}

void mean_of_planes(const float* x, float* y, int64_t planes, int64_t HW) {
#pragma omp parallel for schedule(static) if (planes * HW > 16384)
  for (int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (int64_t i = 0; i < HW; ++i) s += x[p * HW + i];
    y[p] = static_cast<float>(s / static_cast<double>(HW));
  }
}

void dense(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t I, int64_t O, bool relu) {
  blas::gemm(false, true, N, O, I, 1.0f, x, I, w, I, 0.0f, y, O);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const float v = y[n * O + o] + b[o];
      y[n * O + o] = relu ? std::max(v, 0.0f) : v;
    }
}

void upsample_align_corners(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t H, int64_t W) {
  // The taps of src/ops/upsample.cpp (kernels/upsample.h), so the result is the same bit for bit.
  const float sh = bilinear_scale<float>(h, H, true), sw = bilinear_scale<float>(w, W, true);
  std::vector<BilinearTap<float>> th(H), tw(W);
  for (int64_t o = 0; o < H; ++o) th[o] = bilinear_tap(o, h, sh, true);
  for (int64_t o = 0; o < W; ++o) tw[o] = bilinear_tap(o, w, sw, true);
#pragma omp parallel for schedule(static) if (planes * H * W > 16384)
  for (int64_t row = 0; row < planes * H; ++row) {
    const int64_t plane = row / H, oh = row % H;
    const float* r0 = x + plane * h * w + th[oh].i0 * w;
    const float* r1 = x + plane * h * w + th[oh].i1 * w;
    const float h0 = th[oh].w0, h1 = th[oh].w1;
    float* out = y + plane * H * W + oh * W;
    for (int64_t ow = 0; ow < W; ++ow) {
      const BilinearTap<float>& t = tw[ow];
      out[ow] = h0 * (t.w0 * r0[t.i0] + t.w1 * r0[t.i1]) + h1 * (t.w0 * r1[t.i0] + t.w1 * r1[t.i1]);
    }
  }
}

void broadcast_planes(const float* v, float* y, int64_t N, int64_t C, int64_t HW, int64_t y_image_stride) {
#pragma omp parallel for collapse(2) schedule(static) if (N * C * HW > 16384)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      float* out = y + n * y_image_stride + c * HW;
      std::fill(out, out + HW, v[n * C + c]);
    }
}

}  // namespace csg::infer::cpu
