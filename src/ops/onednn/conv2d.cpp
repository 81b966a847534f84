// src/ops/onednn/conv2d.cpp — the f32 CPU convolution on oneDNN: forward, backward-data and
// backward-weights (+ bias) primitives, created once per shape and kept (a training step
// repeats the same shapes), run on the shared engine with a user-managed scratchpad.
//
// Tensors stay plain NCHW between ops. Each primitive is created with format `any`, so oneDNN
// picks its blocked layout (nChw16c on AVX-512); operands are reordered into it and results out
// of it at the edges, through the grow-only staging buffers of context.h. README "oneDNN"
// gives the measurement behind this choice.
#include "src/ops/onednn/conv2d.h"

#ifdef CSG_WITH_DNNL

#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

#include "src/ops/onednn/context.h"

namespace csg::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Conv2dShape = kernels::Conv2dShape;

// The geometry plus the flags that change the primitive: the cache key.
struct Key {
  int64_t v[16];
  bool operator==(const Key& o) const { return std::memcmp(v, o.v, sizeof v) == 0; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = 0;
    for (int64_t x : k.v) h = h * 1000003u ^ std::hash<int64_t>()(x);
    return h;
  }
};
Key key_of(const Conv2dShape& s, bool bias) {
  return {{s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h, s.dilation_w,
           bias ? 1 : 0, 0, 0}};
}

// The descriptors every primitive of one geometry shares. oneDNN counts dilation from 0 (1 is
// a gap of one) and takes the right padding that makes its output size ours.
struct Geometry {
  memory::dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
  explicit Geometry(const Conv2dShape& s)
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

memory::desc any_desc(const memory::dims& d, memory::data_type t = memory::data_type::f32) { return {d, t, Tag::any}; }
memory::desc plain_desc(const memory::dims& d) {
  return {d, memory::data_type::f32, d.size() == 4 ? Tag::abcd : Tag::a};
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// One cached primitive with its descriptor (for the layouts and the scratchpad size).
template <class Pd, class Prim>
struct Cached {
  Pd pd;
  Prim prim;
  explicit Cached(const Pd& p) : pd(p), prim(p) {}
};
using Forward = Cached<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>;
using BackwardData = Cached<dnnl::convolution_backward_data::primitive_desc, dnnl::convolution_backward_data>;
using BackwardWeights =
    Cached<dnnl::convolution_backward_weights::primitive_desc, dnnl::convolution_backward_weights>;

// Per thread, so no lock: the engine's own threads run inside one call.
template <class T>
std::unordered_map<Key, std::unique_ptr<T>, KeyHash>& cache() {
  thread_local std::unordered_map<Key, std::unique_ptr<T>, KeyHash> c;
  return c;
}

// BF16 mixed precision (bf16_convolutions()): the operands each primitive reads are BF16, what it
// writes is f32, and the key tells the two kinds of primitive apart.
memory::data_type in_type(bool bf16) { return bf16 ? memory::data_type::bf16 : memory::data_type::f32; }
Key training_key(const Conv2dShape& s, bool bias, bool bf16) {
  Key k = key_of(s, bias);
  k.v[14] = bf16 ? 1 : 0;
  return k;
}

const Forward& forward_primitive(const Conv2dShape& s, bool bias, bool bf16) {
  auto& c = cache<Forward>();
  const Key k = training_key(s, bias, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  dnnl::convolution_forward::desc d =
      bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             any_desc(g.src, t), any_desc(g.weights, t), plain_desc(g.bias),
                                             any_desc(g.dst), g.strides, g.dilates, g.pad_l, g.pad_r)
           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             any_desc(g.src, t), any_desc(g.weights, t), any_desc(g.dst), g.strides,
                                             g.dilates, g.pad_l, g.pad_r);
  auto entry = std::make_unique<Forward>(dnnl::convolution_forward::primitive_desc(d, user_scratchpad(), engine()));
  return *c.emplace(k, std::move(entry)).first->second;
}

const BackwardData& backward_data_primitive(const Conv2dShape& s, bool bf16) {
  auto& c = cache<BackwardData>();
  const Key k = training_key(s, false, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, any_desc(g.src),
                                          any_desc(g.weights, t), any_desc(g.dst, t), g.strides, g.dilates, g.pad_l,
                                          g.pad_r);
  auto entry = std::make_unique<BackwardData>(dnnl::convolution_backward_data::primitive_desc(
      d, user_scratchpad(), engine(), forward_primitive(s, false, bf16).pd));
  return *c.emplace(k, std::move(entry)).first->second;
}

const BackwardWeights& backward_weights_primitive(const Conv2dShape& s, bool bias, bool bf16) {
  auto& c = cache<BackwardWeights>();
  const Key k = training_key(s, bias, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  dnnl::convolution_backward_weights::desc d =
      bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any_desc(g.src, t),
                                                      any_desc(g.weights), plain_desc(g.bias), any_desc(g.dst, t),
                                                      g.strides, g.dilates, g.pad_l, g.pad_r)
           : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any_desc(g.src, t),
                                                      any_desc(g.weights), any_desc(g.dst, t), g.strides, g.dilates,
                                                      g.pad_l, g.pad_r);
  auto entry = std::make_unique<BackwardWeights>(dnnl::convolution_backward_weights::primitive_desc(
      d, user_scratchpad(), engine(), forward_primitive(s, bias, bf16).pd));
  return *c.emplace(k, std::move(entry)).first->second;
}

// A plain user buffer as the primitive wants it: the buffer itself when the layouts agree,
// else a reordered copy in `slot`'s staging buffer.
memory input(const memory::desc& want, const memory::dims& dims, const float* data, Slot slot) {
  memory user(plain_desc(dims), engine(), const_cast<float*>(data));
  if (want == user.get_desc()) return user;
  memory staged(want, engine(), buffer(slot, want.get_size()));
  dnnl::reorder(user, staged).execute(stream(), user, staged);
  return staged;
}

// Where the primitive writes a result destined for the plain buffer `data`: the buffer itself or
// a staging buffer, which deliver() then reorders into `data`.
memory output(const memory::desc& want, const memory::dims& dims, float* data, Slot slot) {
  if (want == plain_desc(dims)) return memory(want, engine(), data);
  return memory(want, engine(), buffer(slot, want.get_size()));
}
void deliver(memory result, const memory::dims& dims, float* data) {
  memory user(plain_desc(dims), engine(), data);
  if (result.get_data_handle() == data) return;
  dnnl::reorder(result, user).execute(stream(), result, user);
}

memory scratchpad(const memory::desc& d) { return memory(d, engine(), buffer(Slot::Scratchpad, d.get_size())); }

// oneDNN reports failures as dnnl::error; the engine speaks csg::Error.
template <class F>
void guarded(const char* what, const Conv2dShape& s, F&& f) {
  try {
    f();
  } catch (const dnnl::error& e) {
    CSG_FAIL("conv2d (oneDNN ", what, "): ", e.what(), " for input [", s.N, ",", s.C, ",", s.H, ",", s.W,
             "], weight [", s.O, ",", s.C, ",", s.KH, ",", s.KW, "]; make DNNL=0 builds without oneDNN");
  }
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const bool bf16 = bf16_convolutions();
  guarded(bf16 ? "forward, bf16" : "forward", s, [&] {
    const Geometry g(s);
    const Forward& f = forward_primitive(s, b != nullptr, bf16);
    memory src = input(f.pd.src_desc(), g.src, x, Slot::Src);
    memory weights = input(f.pd.weights_desc(), g.weights, w, Slot::Weights);
    memory dst = output(f.pd.dst_desc(), g.dst, y, Slot::Dst);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_WEIGHTS, weights},
                                         {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(f.pd.scratchpad_desc())}};
    if (b) args.emplace(DNNL_ARG_BIAS, memory(plain_desc(g.bias), engine(), const_cast<float*>(b)));
    f.prim.execute(stream(), args);
    deliver(dst, g.dst, y);
  });
}

void conv2d_backward(const Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db) {
  const Geometry g(s);
  if (db && !dw) {  // the bias gradient alone: a sum over N, OH, OW, no primitive needed
    const int64_t OHW = s.OH * s.OW;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < s.O; ++o) {
      float acc = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* p = dy + (n * s.O + o) * OHW;
        for (int64_t i = 0; i < OHW; ++i) acc += p[i];
      }
      db[o] = acc;
    }
  }
  const bool bf16 = bf16_convolutions();
  if (dx) {
    guarded(bf16 ? "backward data, bf16" : "backward data", s, [&] {
      const BackwardData& bd = backward_data_primitive(s, bf16);
      memory diff_dst = input(bd.pd.diff_dst_desc(), g.dst, dy, Slot::Dst);
      memory weights = input(bd.pd.weights_desc(), g.weights, w, Slot::Weights);
      memory diff_src = output(bd.pd.diff_src_desc(), g.src, dx, Slot::Src);
      bd.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, diff_dst},
                                 {DNNL_ARG_WEIGHTS, weights},
                                 {DNNL_ARG_DIFF_SRC, diff_src},
                                 {DNNL_ARG_SCRATCHPAD, scratchpad(bd.pd.scratchpad_desc())}});
      deliver(diff_src, g.src, dx);
    });
  }
  if (dw) {
    guarded(bf16 ? "backward weights, bf16" : "backward weights", s, [&] {
      const BackwardWeights& bw = backward_weights_primitive(s, db != nullptr, bf16);
      memory src = input(bw.pd.src_desc(), g.src, x, Slot::Src);
      memory diff_dst = input(bw.pd.diff_dst_desc(), g.dst, dy, Slot::Dst);
      memory diff_weights = output(bw.pd.diff_weights_desc(), g.weights, dw, Slot::Weights);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                           {DNNL_ARG_DIFF_DST, diff_dst},
                                           {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                           {DNNL_ARG_SCRATCHPAD, scratchpad(bw.pd.scratchpad_desc())}};
      if (db) args.emplace(DNNL_ARG_DIFF_BIAS, memory(plain_desc(g.bias), engine(), db));
      bw.prim.execute(stream(), args);
      deliver(diff_weights, g.weights, dw);
    });
  }
}

// ---- inference ----

namespace {

// One convolution of an inference network at one input shape: the primitive and its weights,
// reordered once into the primitive's layout.
struct InferenceEntry {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory weights;
  InferenceEntry(const dnnl::convolution_forward::primitive_desc& p, const memory::dims& dims, const float* w)
      : pd(p), prim(p), weights(p.weights_desc(), engine()) {  // the reorder also rounds to BF16 if asked
    memory user(plain_desc(dims), engine(), const_cast<float*>(w));
    dnnl::reorder(user, weights).execute(stream(), user, weights);
  }
};

// The post-ops that make the output pass relu?(conv + b + residual): oneDNN's `sum` adds what
// dst holds before the call, so the residual is put there first.
dnnl::primitive_attr inference_attr(bool residual, bool relu) {
  dnnl::primitive_attr attr = user_scratchpad();
  dnnl::post_ops ops;
  if (residual) ops.append_sum(1.0f);
  if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  return attr;
}

memory::desc strided_desc(const memory::dims& d, int64_t image_stride) {
  return {d, memory::data_type::f32, memory::dims{image_stride, d[2] * d[3], d[3], 1}};
}

}  // namespace

struct InferenceConvCache::Impl {
  std::unordered_map<Key, std::unique_ptr<InferenceEntry>, KeyHash> entries;
};
InferenceConvCache::InferenceConvCache() : impl_(std::make_unique<Impl>()) {}
InferenceConvCache::~InferenceConvCache() = default;
void InferenceConvCache::clear() { impl_->entries.clear(); }

void conv2d_forward_inference(InferenceConvCache& cache, const Conv2dShape& s, const float* x, const float* w,
                              const float* b, float* y, const float* residual, bool relu, int64_t y_image_stride,
                              bool bf16) {
  guarded(bf16 ? "inference, bf16" : "inference", s, [&] {
    const Geometry g(s);
    Key k = key_of(s, b != nullptr);
    k.v[14] = reinterpret_cast<intptr_t>(w);
    k.v[15] = (residual ? 1 : 0) | (relu ? 2 : 0) | (bf16 ? 4 : 0);
    std::unique_ptr<InferenceEntry>& e = cache.impl_->entries[k];
    if (!e) {
      // The bias stays f32 (oneDNN adds it in the f32 accumulator).
      const memory::data_type t = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
      dnnl::convolution_forward::desc d =
          b ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                              any_desc(g.src, t), any_desc(g.weights, t), plain_desc(g.bias),
                                              any_desc(g.dst, t), g.strides, g.dilates, g.pad_l, g.pad_r)
            : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                              any_desc(g.src, t), any_desc(g.weights, t), any_desc(g.dst, t),
                                              g.strides, g.dilates, g.pad_l, g.pad_r);
      e = std::make_unique<InferenceEntry>(
          dnnl::convolution_forward::primitive_desc(d, inference_attr(residual != nullptr, relu), engine()),
          g.weights, w);
    }
    const int64_t stride = y_image_stride > 0 ? y_image_stride : s.O * s.OH * s.OW;
    const memory::desc user_dst = strided_desc(g.dst, stride);
    memory src = input(e->pd.src_desc(), g.src, x, Slot::Src);
    const bool direct = e->pd.dst_desc() == user_dst;  // the primitive writes y itself
    memory dst = direct ? memory(user_dst, engine(), y) : memory(e->pd.dst_desc(), engine(), buffer(Slot::Dst, e->pd.dst_desc().get_size()));
    if (residual) {  // dst starts as the residual, which the sum post-op adds
      memory r(plain_desc(g.dst), engine(), const_cast<float*>(residual));
      dnnl::reorder(r, dst).execute(stream(), r, dst);
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_WEIGHTS, e->weights},
                                         {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(e->pd.scratchpad_desc())}};
    if (b) args.emplace(DNNL_ARG_BIAS, memory(plain_desc(g.bias), engine(), const_cast<float*>(b)));
    e->prim.execute(stream(), args);
    if (!direct) {
      memory out(user_dst, engine(), y);
      dnnl::reorder(dst, out).execute(stream(), dst, out);
    }
  });
}

}  // namespace csg::onednn

#else  // no oneDNN: the cache exists, so that its owners compile, and is never used

namespace csg::onednn {
struct InferenceConvCache::Impl {};
InferenceConvCache::InferenceConvCache() : impl_(std::make_unique<Impl>()) {}
InferenceConvCache::~InferenceConvCache() = default;
void InferenceConvCache::clear() {}
}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
