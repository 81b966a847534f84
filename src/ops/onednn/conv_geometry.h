// src/ops/onednn/conv_geometry.h — a convolution's oneDNN set-up, written once: its dims in
// oneDNN's convention, its memory and forward-operation descriptors, and the key its cached
// primitives are found by. Shared by the training convolutions (conv2d.cpp) and the inference
// network (src/infer/onednn_backend.cpp, which adds its fused post-ops as attributes).
#pragma once
#ifdef CSG_WITH_DNNL
#include <cstring>
#include <functional>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/conv2d.h"

namespace csg::onednn {

// The geometry plus the flags that change the primitive: the cache key. It also holds the
// OpenMP thread count when it was made: a oneDNN primitive splits its work for the count it was
// created under and keeps that split under another, so a primitive reused after the count
// changed summed in another order than a new one would (a 1x1 weight gradient differed in its
// last bits, and the step-parity test's results depended on which tests had run before it).
struct Key {
  int64_t v[16];
  int64_t threads = omp_get_max_threads();
  bool operator==(const Key& o) const { return std::memcmp(v, o.v, sizeof v) == 0 && threads == o.threads; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = std::hash<int64_t>()(k.threads);
    for (int64_t x : k.v) h = h * 1000003u ^ std::hash<int64_t>()(x);
    return h;
  }
};
// v[14] and v[15] are left for the caller's flags.
inline Key key_of(const kernels::Conv2dShape& s, bool bias) {
  return {{s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h, s.dilation_w,
           bias ? 1 : 0, 0, 0}};
}

// The descriptors every primitive of one geometry shares. oneDNN counts dilation from 0 (1 is
// a gap of one) and takes the right padding that makes its output size ours.
struct Geometry {
  dnnl::memory::dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
  explicit Geometry(const kernels::Conv2dShape& s)
      : src{s.N, s.C, s.H, s.W},
        weights{s.O, s.C, s.KH, s.KW},
        bias{s.O},
        dst{s.N, s.O, s.OH, s.OW},
        strides{s.stride_h, s.stride_w},
        dilates{s.dilation_h - 1, s.dilation_w - 1},
        pad_l{s.pad_h, s.pad_w},
        pad_r{(s.OH - 1) * s.stride_h + (s.KH - 1) * s.dilation_h + 1 - s.H - s.pad_h,
              (s.OW - 1) * s.stride_w + (s.KW - 1) * s.dilation_w + 1 - s.W - s.pad_w} {}
};

// 3x3, stride 1, undilated: the convolutions oneDNN's Winograd kernels compute.
inline bool winograd_shape(const kernels::Conv2dShape& s) {
  return s.KH == 3 && s.KW == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 && s.dilation_w == 1;
}

// Whether an f32 convolution whose weights change before every call (training, a trained
// encoder's no-grad pass) runs on oneDNN's Winograd kernel (F(4x4, 3x3), jit_wino_4x3), where it
// has one: 3x3, stride 1, undilated, on maps of at least 12x12 (three whole 4x4 output tiles a
// side). Measured per pass on the 2-vCPU machine of docs/onnx.md (batch 8, against the direct
// kernel): 1.35-2.3x faster at 56x56 to 14x14 and 1.3-1.5x at 16x16, 0.8-1.1x at 8x8, and
// 0.1-0.9x at 7x7 and below, where most of each tile is padding. Fixed by the shape, not timed, so
// a run computes the same however loaded the machine is.
inline bool winograd_for_changing_weights(const kernels::Conv2dShape& s) {
  return winograd_shape(s) && s.OH >= 12 && s.OW >= 12;
}

// A descriptor in the layout the primitive picks (`any`), and a plain one (abcd, or a for a bias).
inline dnnl::memory::desc any_desc(const dnnl::memory::dims& d,
                                   dnnl::memory::data_type t = dnnl::memory::data_type::f32) {
  return {d, t, dnnl::memory::format_tag::any};
}
inline dnnl::memory::desc plain_desc(const dnnl::memory::dims& d) {
  return {d, dnnl::memory::data_type::f32, d.size() == 4 ? dnnl::memory::format_tag::abcd : dnnl::memory::format_tag::a};
}

// The forward convolution by `alg`: source `src`, weights of type `in` in the layout the primitive
// picks, the bias (when `bias`) plain f32, added in the f32 accumulator, and the destination `dst`.
inline dnnl::convolution_forward::desc forward_desc(dnnl::prop_kind prop, dnnl::algorithm alg,
                                                    const dnnl::memory::desc& src, const Geometry& g,
                                                    dnnl::memory::data_type in, bool bias,
                                                    const dnnl::memory::desc& dst) {
  if (bias)
    return {prop, alg, src, any_desc(g.weights, in), plain_desc(g.bias), dst, g.strides, g.dilates, g.pad_l, g.pad_r};
  return {prop, alg, src, any_desc(g.weights, in), dst, g.strides, g.dilates, g.pad_l, g.pad_r};
}
// The direct convolution, its source too of type `in` in the layout the primitive picks.
inline dnnl::convolution_forward::desc forward_desc(dnnl::prop_kind prop, const Geometry& g,
                                                    dnnl::memory::data_type in, bool bias,
                                                    const dnnl::memory::desc& dst) {
  return forward_desc(prop, dnnl::algorithm::convolution_direct, any_desc(g.src, in), g, in, bias, dst);
}

}  // namespace csg::onednn
#endif  // CSG_WITH_DNNL
