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

#include <memory>
#include <unordered_map>

#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv_geometry.h"

namespace csg::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Conv2dShape = kernels::Conv2dShape;

memory::desc any_desc(const memory::dims& d, memory::data_type t = memory::data_type::f32) { return {d, t, Tag::any}; }
memory::desc plain_desc(const memory::dims& d) {
  return {d, memory::data_type::f32, d.size() == 4 ? Tag::abcd : Tag::a};
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

}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
