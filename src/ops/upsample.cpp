// src/ops/upsample.cpp — bilinear resize of [N,C,H,W] with PyTorch's align_corners
// semantics both ways, up or down (DeepLab: 65x65 -> 513x513, 128x256 -> 1024x2048).
//
// Both devices compute the source taps with the same function (kernels/upsample.h).
// Backward needs no saved tensor: it scatters each output gradient into its four source
// pixels. On the CPU the planes are independent, so the scatter runs in parallel over
// planes without races; CUDA uses atomicAdd.
#include <vector>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/upsample.h"
#include "src/core/dispatch.h"

namespace csg {
namespace {

constexpr const char* kOp = "upsample_bilinear2d";

struct ResizeGeometry {
  int64_t planes, in_h, in_w, out_h, out_w;
  bool align_corners;
};

template <class T>
std::vector<BilinearTap<T>> axis_taps(int64_t in_size, int64_t out_size, bool align_corners) {
  const T scale = bilinear_scale<T>(in_size, out_size, align_corners);
  std::vector<BilinearTap<T>> taps(out_size);
  for (int64_t o = 0; o < out_size; ++o) taps[o] = bilinear_tap(o, in_size, scale, align_corners);
  return taps;
}

template <class T>
void upsample_forward_cpu(const T* x, T* y, const ResizeGeometry& r) {
  const auto th = axis_taps<T>(r.in_h, r.out_h, r.align_corners);
  const auto tw = axis_taps<T>(r.in_w, r.out_w, r.align_corners);
  const int64_t in_plane = r.in_h * r.in_w, out_plane = r.out_h * r.out_w;
  // Parallel over output rows of all planes: DeepLab's loss resizes few planes to many rows.
#pragma omp parallel for if (r.planes * out_plane > 16384)
  for (int64_t row = 0; row < r.planes * r.out_h; ++row) {
    const int64_t plane = row / r.out_h, oh = row % r.out_h;
    const T* r0 = x + plane * in_plane + th[oh].i0 * r.in_w;
    const T* r1 = x + plane * in_plane + th[oh].i1 * r.in_w;
    const T h0 = th[oh].w0, h1 = th[oh].w1;
    T* out = y + plane * out_plane + oh * r.out_w;
    for (int64_t ow = 0; ow < r.out_w; ++ow) {
      const BilinearTap<T>& t = tw[ow];
      out[ow] = h0 * (t.w0 * r0[t.i0] + t.w1 * r0[t.i1]) + h1 * (t.w0 * r1[t.i0] + t.w1 * r1[t.i1]);
    }
  }
}

template <class T>
void upsample_backward_cpu(const T* g, T* gx, const ResizeGeometry& r) {
  const auto th = axis_taps<T>(r.in_h, r.out_h, r.align_corners);
  const auto tw = axis_taps<T>(r.in_w, r.out_w, r.align_corners);
  const int64_t in_plane = r.in_h * r.in_w, out_plane = r.out_h * r.out_w;
#pragma omp parallel for if (r.planes * out_plane > 16384)
  for (int64_t plane = 0; plane < r.planes; ++plane) {
    T* gp = gx + plane * in_plane;
    for (int64_t i = 0; i < in_plane; ++i) gp[i] = T(0);
    for (int64_t oh = 0; oh < r.out_h; ++oh) {
      T* r0 = gp + th[oh].i0 * r.in_w;
      T* r1 = gp + th[oh].i1 * r.in_w;
      const T h0 = th[oh].w0, h1 = th[oh].w1;
      const T* gr = g + plane * out_plane + oh * r.out_w;
      for (int64_t ow = 0; ow < r.out_w; ++ow) {
        const BilinearTap<T>& t = tw[ow];
        const T v = gr[ow];
        r0[t.i0] += h0 * t.w0 * v;
        r0[t.i1] += h0 * t.w1 * v;
        r1[t.i0] += h1 * t.w0 * v;
        r1[t.i1] += h1 * t.w1 * v;
      }
    }
  }
}

Tensor upsample_backward(const Tensor& g_in, const Shape& in_shape, const ResizeGeometry& r, bool deterministic) {
  Tensor g = g_in.contiguous();
  Tensor gx = empty(in_shape, g.options());
  if (g.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::upsample_bilinear2d_backward_f32(g.data<float>(), gx.data<float>(), r.planes, r.in_h,
                                                                 r.in_w, r.out_h, r.out_w, r.align_corners,
                                                                 deterministic));
  } else {
    dispatch_float(g.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      upsample_backward_cpu<T>(g.data<T>(), gx.data<T>(), r);
    });
  }
  return gx;
}

}  // namespace

Tensor upsample_bilinear2d(const Tensor& x_in, int64_t out_h, int64_t out_w, bool align_corners, bool deterministic) {
  check_float(kOp, x_in, "input");
  check_dim(kOp, x_in, 4, "input [N,C,H,W]");
  CSG_CHECK(out_h > 0 && out_w > 0, kOp, ": output size must be positive, got ", out_h, "x", out_w, " for ",
            x_in.describe());
  CSG_CHECK(x_in.size(2) > 0 && x_in.size(3) > 0, kOp, ": input has an empty spatial size: ", x_in.describe());
  Tensor x = x_in.detach().contiguous();
  const ResizeGeometry r{x.size(0) * x.size(1), x.size(2), x.size(3), out_h, out_w, align_corners};
  Tensor y = empty({x.size(0), x.size(1), out_h, out_w}, x.options());
  if (x.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::upsample_bilinear2d_forward_f32(x.data<float>(), y.data<float>(), r.planes, r.in_h,
                                                                r.in_w, out_h, out_w, align_corners));
  } else {
    dispatch_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      upsample_forward_cpu<T>(x.data<T>(), y.data<T>(), r);
    });
  }
  const Shape in_shape = x.shape();
  return record(kOp, y, {x_in}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {upsample_backward(g, in_shape, r, deterministic)};
  });
}

}  // namespace csg
