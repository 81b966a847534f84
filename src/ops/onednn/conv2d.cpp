// src/ops/onednn/conv2d.cpp — the f32 CPU convolution on oneDNN: forward, backward-data and
// backward-weights (+ bias) primitives, created once per shape and kept (a training step
// repeats the same shapes), run on the shared engine with a user-managed scratchpad.
//
// f32 3x3 stride-1 convolutions on maps of 12x12 and more run all three passes on oneDNN's
// Winograd (winograd_for_changing_weights in conv_geometry.h); where oneDNN has none for the CPU
// (below AVX-512) the forward and data-gradient passes run on our own (src/ops/winograd_3x3.h,
// takes_own_winograd) and the weight gradients of 3x3 layers on im2col + sgemm. Dilated ones run as
// undilated convolutions over their phases where those are that large (dilated_as_batches.h), 1x1
// stride-1 ones on maps of 28x28 and more as matrix products on the plain tensors
// (pointwise_gemm.h); the rest on the direct kernels.
//
// Tensors stay plain NCHW between ops. Each primitive is created with format `any`, so oneDNN
// picks its blocked layout (nChw16c on AVX-512, nChw8c on AVX2); operands are reordered into it
// and results out of it at the edges, through the grow-only staging buffers of context.h.
// docs/benchmarks.md#convolution-layout-in-training gives the measurement behind this choice.
#include "src/ops/onednn/conv2d.h"

#ifdef CSG_WITH_DNNL

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "kernels/bf16.h"
#include "src/ops/conv2d_cpu.h"
#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv2d_gemm.h"
#include "src/ops/onednn/conv_geometry.h"
#include "src/ops/onednn/dilated_as_batches.h"
#include "src/ops/onednn/pointwise_gemm.h"
#include "src/ops/winograd_3x3.h"

namespace csg::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Conv2dShape = kernels::Conv2dShape;

// One cached primitive with its descriptor (for the layouts and the scratchpad size).
template <class Pd, class Prim>
struct Cached {
  Pd pd;
  Prim prim;
  explicit Cached(const Pd& p) : pd(p), prim(p) {}
};
using Forward = Cached<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>;
using BackwardData = Cached<dnnl::convolution_backward_data::primitive_desc, dnnl::convolution_backward_data>;
// oneDNN 2.6 has no direct weight-gradient kernel for some geometries (3x3 convolutions
// dilated past a small map: DeepLab's layer 4 and ASPP at 8x8) and falls back to its own im2col +
// GEMM ("gemm:jit"), which ran DeepLab's 512->512 dilation-4 layer at ~30 GFLOP/s, 9 ms a call in
// the bf16 step and 7 ms in f32 (batch 2, 8x8). Our im2col with oneDNN's sgemm takes 3.8 ms for
// it, so those geometries take that path instead (`by_im2col`).
struct BackwardWeights
    : Cached<dnnl::convolution_backward_weights::primitive_desc, dnnl::convolution_backward_weights> {
  bool by_im2col;
  explicit BackwardWeights(const dnnl::convolution_backward_weights::primitive_desc& p)
      : Cached(p), by_im2col(std::strstr(p.impl_info_str(), "gemm") != nullptr) {}
};

// Per thread, so no lock: the engine's own threads run inside one call.
template <class T>
std::unordered_map<Key, std::unique_ptr<T>, KeyHash>& cache() {
  thread_local std::unordered_map<Key, std::unique_ptr<T>, KeyHash> c;
  return c;
}

// BF16 mixed precision (Mode::bf16): the operands each primitive reads are BF16, what it
// writes is f32, and the key tells the two kinds of primitive apart.
memory::data_type in_type(bool bf16) { return bf16 ? memory::data_type::bf16 : memory::data_type::f32; }
Key training_key(const Conv2dShape& s, bool bias, bool bf16) {
  Key k = key_of(s, bias);
  k.v[14] = bf16 ? 1 : 0;
  return k;
}

// The primitive descriptor `make(algorithm)` builds, on Winograd where the shape takes it in f32
// (winograd_for_changing_weights) and oneDNN has a kernel for it, else on the direct algorithm.
template <class Pd, class Make>
Pd by_algorithm(const Conv2dShape& s, bool bf16, Make make) {
  if (!bf16 && winograd_for_changing_weights(s)) {
    try {
      return make(dnnl::algorithm::convolution_winograd);
    } catch (const dnnl::error&) {  // dnnl_unimplemented: no Winograd kernel for this CPU or shape
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

const Forward& forward_primitive(const Conv2dShape& s, bool bias, bool bf16) {
  auto& c = cache<Forward>();
  const Key k = training_key(s, bias, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  using Pd = dnnl::convolution_forward::primitive_desc;
  auto entry = std::make_unique<Forward>(by_algorithm<Pd>(s, bf16, [&](dnnl::algorithm alg) {
    return Pd(forward_desc(dnnl::prop_kind::forward_training, alg, any_desc(g.src, t), g, t, bias, any_desc(g.dst)),
              user_scratchpad(), engine());
  }));
  return *c.emplace(k, std::move(entry)).first->second;
}

const BackwardData& backward_data_primitive(const Conv2dShape& s, bool bf16) {
  auto& c = cache<BackwardData>();
  const Key k = training_key(s, false, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  using Pd = dnnl::convolution_backward_data::primitive_desc;
  auto entry = std::make_unique<BackwardData>(by_algorithm<Pd>(s, bf16, [&](dnnl::algorithm alg) {
    const dnnl::convolution_backward_data::desc d(alg, any_desc(g.src), any_desc(g.weights, t), any_desc(g.dst, t),
                                                  g.strides, g.dilates, g.pad_l, g.pad_r);
    return Pd(d, user_scratchpad(), engine(), forward_primitive(s, false, bf16).pd);
  }));
  return *c.emplace(k, std::move(entry)).first->second;
}

const BackwardWeights& backward_weights_primitive(const Conv2dShape& s, bool bias, bool bf16) {
  auto& c = cache<BackwardWeights>();
  const Key k = training_key(s, bias, bf16);
  auto it = c.find(k);
  if (it != c.end()) return *it->second;
  const Geometry g(s);
  const memory::data_type t = in_type(bf16);
  using Pd = dnnl::convolution_backward_weights::primitive_desc;
  using Desc = dnnl::convolution_backward_weights::desc;
  auto entry = std::make_unique<BackwardWeights>(by_algorithm<Pd>(s, bf16, [&](dnnl::algorithm alg) {
    const Desc d = bias ? Desc(alg, any_desc(g.src, t), any_desc(g.weights), plain_desc(g.bias), any_desc(g.dst, t),
                               g.strides, g.dilates, g.pad_l, g.pad_r)
                        : Desc(alg, any_desc(g.src, t), any_desc(g.weights), any_desc(g.dst, t), g.strides, g.dilates,
                               g.pad_l, g.pad_r);
    return Pd(d, user_scratchpad(), engine(), forward_primitive(s, bias, bf16).pd);
  }));
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


// An operand rounded to BF16 (csg::round_to_bf16: as oneDNN's reorder rounds, subnormals to
// zero) into its slot's buffer on first use, for f32 kernels that must compute what a BF16
// kernel computes: the products of BF16 values are exact in f32.
class Rounded {
 public:
  Rounded(const float* src, int64_t n, Slot slot) : src_(src), n_(n), slot_(slot) {}
  const float* get() {
    if (!dst_) {
      float* d = static_cast<float*>(buffer(slot_, static_cast<size_t>(n_) * sizeof(float)));
      const float* s = src_;
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n_; ++i) d[i] = round_to_bf16(s[i]);
      dst_ = d;
    }
    return dst_;
  }
  void forget() { dst_ = nullptr; }  // the next get() rounds again (timing counts the rounding)

 private:
  const float* src_;
  int64_t n_;
  Slot slot_;
  const float* dst_ = nullptr;
};

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

namespace {

// Whether oneDNN has an f32 Winograd kernel for this CPU (and ONEDNN_MAX_CPU_ISA): asked once, of
// a shape its kernel takes wherever it exists.
bool onednn_has_f32_winograd() {
  static const bool yes = [] {
    const Geometry g(Conv2dShape{1, 16, 12, 12, 16, 3, 3, 12, 12, 1, 1, 1, 1, 1, 1});
    try {
      dnnl::convolution_forward::primitive_desc(
          forward_desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd, any_desc(g.src), g,
                       memory::data_type::f32, false, any_desc(g.dst)),
          engine());
      return true;
    } catch (const dnnl::error&) {  // dnnl_unimplemented
      return false;
    }
  }();
  return yes;
}

// The kernel of one pass of this geometry on this thread, with the weights w set (w is the forward
// convolution's [O, C, 3, 3] for both passes).
const Winograd3x3& own_kernel(const Conv2dShape& s, Winograd3x3::Pass pass, const float* w) {
  thread_local std::unordered_map<Key, std::unique_ptr<Winograd3x3>, KeyHash> kernels;
  Key k = training_key(s, false, false);
  k.v[15] = pass == Winograd3x3::Pass::Forward ? 1 : 2;
  std::unique_ptr<Winograd3x3>& kernel = kernels[k];
  if (!kernel) {
    const bool forward = pass == Winograd3x3::Pass::Forward;
    kernel = std::make_unique<Winograd3x3>(w, forward ? s.O : s.C, forward ? s.C : s.O, blocked_channels(),
                                           Winograd3x3::tile_for(s.N, s.H, s.W), pass);
  } else {
    kernel->set_weights(w);
  }
  return *kernel;
}

memory::desc blocked_desc(const memory::dims& dims) {
  return {dims, memory::data_type::f32, blocked_tag()};
}
float* data_of(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

void forward_by_own_winograd(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const Geometry g(s);
  memory src = input(blocked_desc(g.src), g.src, x, Slot::Src);
  memory dst = output(blocked_desc(g.dst), g.dst, y, Slot::Dst);
  own_kernel(s, Winograd3x3::Pass::Forward, w).run(data_of(src), b, data_of(dst), s.N, s.H, s.W, false, false);
  deliver(dst, g.dst, y);
}

void forward_pass(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                  const WeightSource& w_source, bool bf16) {
  guarded(bf16 ? "forward, bf16" : "forward", s, [&] {
    const Geometry g(s);
    const Forward& f = forward_primitive(s, b != nullptr, bf16);
    memory src = input(f.pd.src_desc(), g.src, x, Slot::Src);
    memory weights = reordered_weights(f.pd.weights_desc(), plain_desc(g.weights), w, w_source);
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

// The weights as BF16 [O,C,KH,KW] for the im2col + BF16 matmul kernel: one copy kept in a
// ConvWeightsReuseScope for the forward passes and the backward-data pass of a step.
const uint16_t* bf16_plain_weights(const Conv2dShape& s, const float* w, const WeightSource& w_source) {
  const Geometry g(s);
  const memory::desc bf16_plain(g.weights, memory::data_type::bf16, Tag::abcd);
  const memory copy = reordered_weights(bf16_plain, plain_desc(g.weights), w, w_source);
  return static_cast<const uint16_t*>(copy.get_data_handle());
}

void forward_by_gemm(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                     const WeightSource& w_source) {
  guarded("forward, bf16 im2col", s,
          [&] { conv2d_gemm::forward(s, x, bf16_plain_weights(s, w, w_source), b, y); });
}

// dy reordered for one backward pass, kept for the call's other pass: both usually want the
// same layout, and dy is as large as the layer's output.
struct StagedDy {
  const float* source = nullptr;
  std::optional<memory> staged;
};
memory diff_dst_input(const memory::desc& want, const memory::dims& dims, const float* dy, StagedDy* keep) {
  if (keep && keep->staged && keep->source == dy && keep->staged->get_desc() == want) return *keep->staged;
  memory m = input(want, dims, dy, Slot::Dst);
  if (keep) keep->source = dy, keep->staged = m;
  return m;
}

void backward_data_by_own_winograd(const Conv2dShape& s, const float* w, const float* dy, float* dx, StagedDy* keep) {
  const Geometry g(s);
  memory diff_dst = diff_dst_input(blocked_desc(g.dst), g.dst, dy, keep);
  memory diff_src = output(blocked_desc(g.src), g.src, dx, Slot::Src);
  own_kernel(s, Winograd3x3::Pass::DataGradient, w)
      .run(data_of(diff_dst), nullptr, data_of(diff_src), s.N, s.OH, s.OW, false, false);
  deliver(diff_src, g.src, dx);
}

// One backward pass on primitives of the given precision (bf16: BF16 operands, f32 results);
// `keep` (may be null) shares the reordered dy between the two passes of one call.
void backward_data_pass(const Conv2dShape& s, const float* w, const float* dy, float* dx, bool bf16,
                        StagedDy* keep) {
  guarded(bf16 ? "backward data, bf16" : "backward data", s, [&] {
    const Geometry g(s);
    const BackwardData& bd = backward_data_primitive(s, bf16);
    memory diff_dst = diff_dst_input(bd.pd.diff_dst_desc(), g.dst, dy, keep);
    memory weights = input(bd.pd.weights_desc(), g.weights, w, Slot::Weights);
    memory diff_src = output(bd.pd.diff_src_desc(), g.src, dx, Slot::Src);
    bd.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, diff_dst},
                               {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_DIFF_SRC, diff_src},
                               {DNNL_ARG_SCRATCHPAD, scratchpad(bd.pd.scratchpad_desc())}});
    deliver(diff_src, g.src, dx);
  });
}

void backward_weights_pass(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db, bool bf16,
                           StagedDy* keep = nullptr) {
  guarded(bf16 ? "backward weights, bf16" : "backward weights", s, [&] {
    const Geometry g(s);
    const BackwardWeights& bw = backward_weights_primitive(s, db != nullptr, bf16);
    memory src = input(bw.pd.src_desc(), g.src, x, Slot::Src);
    memory diff_dst = diff_dst_input(bw.pd.diff_dst_desc(), g.dst, dy, keep);
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

// The f32 passes on whichever kernel takes the geometry: our Winograd or oneDNN's primitive.
void forward_f32(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                 const WeightSource& w_source) {
  if (takes_own_winograd(s)) return forward_by_own_winograd(s, x, w, b, y);
  forward_pass(s, x, w, b, y, w_source, false);
}
void backward_data_f32(const Conv2dShape& s, const float* w, const float* dy, float* dx, StagedDy* keep) {
  if (takes_own_winograd(s)) return backward_data_by_own_winograd(s, w, dy, dx, keep);
  backward_data_pass(s, w, dy, dx, false, keep);
}

// Whether the f32 passes of s run as an undilated convolution over its phases: wherever the
// shape allows it (dilated_as_batches), since that convolution then runs on Winograd, oneDNN's
// where the CPU has it and ours (takes_own_winograd) where it has not; Winograd is the only reason to split.
bool as_batches(const Conv2dShape& s) { return dilated_as_batches(s); }
float* floats(Slot slot, int64_t n) { return static_cast<float*>(buffer(slot, static_cast<size_t>(n) * sizeof(float))); }

void forward_as_batches(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                        const WeightSource& w_source) {
  const Conv2dShape p = batched_shape(s);
  const int64_t d = s.dilation_h;
  float* xs = floats(Slot::PhasesX, p.N * p.C * p.H * p.W);
  float* ys = floats(Slot::PhasesY, p.N * p.O * p.OH * p.OW);
  space_to_batch(x, xs, s.N, s.C, s.H, s.W, 1, d);
  forward_f32(p, xs, w, b, ys, w_source);
  batch_to_space(ys, y, s.N, s.O, s.OH, s.OW, 1, d);
}

bool weight_gradient_by_im2col_f32(const Conv2dShape& s, bool bias);

// dx, and dw with db, of a convolution run as batches: dy split as y was, dx merged as x was split.
void backward_as_batches(const Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                         float* db) {
  const Conv2dShape p = batched_shape(s);
  const int64_t d = s.dilation_h;
  float* dys = floats(Slot::PhasesY, p.N * p.O * p.OH * p.OW);
  space_to_batch(dy, dys, s.N, s.O, s.OH, s.OW, 1, d);
  StagedDy staged_dy;
  if (dx) {
    float* dxs = floats(Slot::PhasesX, p.N * p.C * p.H * p.W);
    backward_data_f32(p, w, dys, dxs, &staged_dy);
    batch_to_space(dxs, dx, s.N, s.C, s.H, s.W, 1, d);
  }
  if (dw) {
    float* xs = floats(Slot::PhasesX, p.N * p.C * p.H * p.W);  // dxs is merged already
    space_to_batch(x, xs, s.N, s.C, s.H, s.W, 1, d);
    if (weight_gradient_by_im2col_f32(p, db != nullptr))
      conv2d_cpu::backward<float>(p, xs, nullptr, dys, nullptr, dw, db);
    else
      backward_weights_pass(p, xs, dys, dw, db, false, &staged_dy);
  }
}

bool by_im2col(const Conv2dShape& s, bool bias, bool bf16) {
  bool yes = false;
  guarded("backward weights", s, [&] { yes = backward_weights_primitive(s, bias, bf16).by_im2col; });
  return yes;
}

// f32 weight gradients on im2col + oneDNN's sgemm: where oneDNN has no direct kernel (by_im2col),
// and for undilated 3x3 convolutions where it has no f32 Winograd (below AVX-512): there its direct
// AVX2 weight-gradient kernel ran ResNet-50's 3x3 layers at batch 8 at 56-112 GFLOP/s, im2col +
// sgemm at 71-107 (1.2-1.6x faster on 8 of the 10 shapes timed; docs/onnx.md, item 24).
bool weight_gradient_by_im2col_f32(const Conv2dShape& s, bool bias) {
  const bool undilated_3x3 = s.KH == 3 && s.KW == 3 && s.dilation_h == 1 && s.dilation_w == 1;
  return (undilated_3x3 && !onednn_has_f32_winograd()) || by_im2col(s, bias, false);
}

// BF16 mixed precision. oneDNN 2.6.3's BF16 kernels are not always its fastest way to multiply
// BF16 operands: on small maps its AMX backward kernels lose to its f32 AVX-512 ones (the
// ResNet-18 step at 64 px: weights 27.8 against 16.6 ms, data 15.4 against 10.1), and its AMX
// kernels for dilated convolutions on small maps run at about its f32 rate (conv2d_gemm.h);
// other shapes and CPUs can tip the other way. So each geometry's pass runs whichever kernel is fastest
// here, timed on first use as cuDNN's algorithm search does:
//   Primitive     oneDNN's BF16 convolution primitive;
//   F32OnRounded  its f32 primitive on operands rounded to BF16 (the rounding counted in its
//                 time; backward passes only);
//   Im2colGemm    im2col + oneDNN's BF16 matmul (conv2d_gemm.h).
// All three multiply the same BF16 values (each product exact in f32) and sum in f32: the
// results differ only in the order of the sums.
thread_local uint64_t g_kernel_runs[4] = {};

enum class Pass { Forward = 1, Data = 2, Weights = 3 };

// The kernel for this geometry and pass among `candidates` (the pass's own, best first when
// forced): `forced` (not Timed) where the pass has it, else the first; timed once per geometry when
// Timed. `run(k)` runs the pass with kernel k; `forget_rounding` makes the next run round its
// operands again, so an F32OnRounded time includes the rounding.
Bf16Kernel chosen_kernel(const Conv2dShape& s, bool bias, Pass pass, Bf16Kernel forced,
                         const std::vector<Bf16Kernel>& candidates, const std::function<void(Bf16Kernel)>& run,
                         const std::function<void()>& forget_rounding) {
  if (forced != Bf16Kernel::Timed) {
    const bool has = std::find(candidates.begin(), candidates.end(), forced) != candidates.end();
    return has ? forced : candidates.front();
  }
  thread_local std::unordered_map<Key, Bf16Kernel, KeyHash> chosen;
  Key k = training_key(s, bias, true);
  k.v[15] = static_cast<int64_t>(pass);
  auto it = chosen.find(k);
  if (it != chosen.end()) return it->second;
  Bf16Kernel best_kernel = candidates.front();
  double best = 1e300;
  for (const Bf16Kernel kernel : candidates) {
    run(kernel);  // creates the primitives, touches the buffers
    for (int i = 0; i < 3; ++i) {  // the best of three: a busy machine's speed moves between calls
      forget_rounding();
      const auto t0 = std::chrono::steady_clock::now();
      run(kernel);
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (t < best) best = t, best_kernel = kernel;
    }
  }
  return chosen[k] = best_kernel;
}

// Runs the pass with the kernel chosen_kernel() gives, counting it.
void run_chosen(const Conv2dShape& s, bool bias, Pass pass, Bf16Kernel forced,
                const std::vector<Bf16Kernel>& candidates, const std::function<void(Bf16Kernel)>& run,
                const std::function<void()>& forget_rounding) {
  const Bf16Kernel k = chosen_kernel(s, bias, pass, forced, candidates, run, forget_rounding);
  run(k);
  ++g_kernel_runs[static_cast<int>(k)];
}

}  // namespace

Mode mode_of(const ConvNumerics& n) {
  if (!n.bf16()) return {};
  switch (n.cpu_bf16_kernel) {
    case Bf16CpuKernel::Primitive: return {true, Bf16Kernel::Primitive};
    case Bf16CpuKernel::F32OnRounded: return {true, Bf16Kernel::F32OnRounded};
    case Bf16CpuKernel::Im2colGemm: return {true, Bf16Kernel::Im2colGemm};
    case Bf16CpuKernel::Auto: break;
  }
  // Timing picks a kernel by this machine's speed at the time: not the same one run after run.
  return {true, n.deterministic ? Bf16Kernel::Primitive : Bf16Kernel::Timed};
}

uint64_t bf16_kernel_runs(Bf16Kernel k) { return g_kernel_runs[static_cast<int>(k)]; }

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    const WeightSource& w_source, const Mode& mode) {
  if (!mode.bf16) {
    if (pointwise_gemm::takes(s)) return pointwise_gemm::forward(s, x, w, b, y);
    if (as_batches(s)) return forward_as_batches(s, x, w, b, y, w_source);
    return forward_f32(s, x, w, b, y, w_source);
  }
  auto run = [&](Bf16Kernel k) {
    if (k == Bf16Kernel::Im2colGemm) forward_by_gemm(s, x, w, b, y, w_source);
    else forward_pass(s, x, w, b, y, w_source, true);
  };
  run_chosen(s, b != nullptr, Pass::Forward, mode.kernel, {Bf16Kernel::Primitive, Bf16Kernel::Im2colGemm}, run,
             [] {});
}

void conv2d_backward(const Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, const WeightSource& w_source, const Mode& mode) {
  if (!mode.bf16) {
    if (db && !dw) conv2d_cpu::bias_gradient(s, dy, db);  // alone: no primitive needed
    if (pointwise_gemm::takes(s)) {
      if (dx) pointwise_gemm::backward_data(s, w, dy, dx);
      if (dw) pointwise_gemm::backward_weights(s, x, dy, dw, db);
      return;
    }
    if (as_batches(s)) return backward_as_batches(s, x, w, dy, dx, dw, dw ? db : nullptr);
    StagedDy staged_dy;
    if (dx) backward_data_f32(s, w, dy, dx, &staged_dy);
    if (dw && weight_gradient_by_im2col_f32(s, db != nullptr))
      conv2d_cpu::backward<float>(s, x, nullptr, dy, nullptr, dw, db);
    else if (dw)
      backward_weights_pass(s, x, dy, dw, db, false, &staged_dy);
    return;
  }
  using K = Bf16Kernel;
  Rounded x_r(x, s.N * s.C * s.H * s.W, Slot::RoundedX), w_r(w, s.O * s.C * s.KH * s.KW, Slot::RoundedW),
      dy_r(dy, s.N * s.O * s.OH * s.OW, Slot::RoundedDy);
  if (db && !dw) conv2d_cpu::bias_gradient(s, dy_r.get(), db);  // of the rounded dy, as with the weights
  if (dx) {
    auto run = [&](K k) {
      if (k == K::Im2colGemm) {
        guarded("backward data, bf16 im2col", s,
                [&] { conv2d_gemm::backward_data(s, bf16_plain_weights(s, w, w_source), dy, dx); });
      } else if (k == K::F32OnRounded) {
        backward_data_pass(s, w_r.get(), dy_r.get(), dx, false, nullptr);
      } else {
        backward_data_pass(s, w, dy, dx, true, nullptr);
      }
    };
    run_chosen(s, false, Pass::Data, mode.kernel, {K::Primitive, K::F32OnRounded, K::Im2colGemm}, run,
               [&] { w_r.forget(), dy_r.forget(); });
  }
  if (!dw) return;
  // Without a direct oneDNN kernel (see BackwardWeights), the f32 one is the im2col path.
  const bool no_direct = by_im2col(s, db != nullptr, true);
  auto run = [&](K k) {
    if (k == K::Im2colGemm) {
      guarded("backward weights, bf16 im2col", s, [&] { conv2d_gemm::backward_weights(s, x, dy, dw); });
      if (db) conv2d_cpu::bias_gradient(s, dy_r.get(), db);  // of the rounded dy, as the BF16 primitive's
    } else if (no_direct) {
      conv2d_cpu::backward<float>(s, x_r.get(), nullptr, dy_r.get(), nullptr, dw, db);
    } else if (k == K::F32OnRounded) {
      backward_weights_pass(s, x_r.get(), dy_r.get(), dw, db, false);
    } else {
      backward_weights_pass(s, x, dy, dw, db, true);
    }
  };
  const std::vector<K> candidates = no_direct ? std::vector<K>{K::F32OnRounded, K::Im2colGemm}
                                              : std::vector<K>{K::Primitive, K::F32OnRounded, K::Im2colGemm};
  run_chosen(s, db != nullptr, Pass::Weights, mode.kernel, candidates, run, [&] { x_r.forget(), dy_r.forget(); });
}

bool conv2d_weight_gradient_by_im2col(const Conv2dShape& s, bool bias, bool bf16) { return by_im2col(s, bias, bf16); }

// On 7x7 maps, an AVX2 EPYC: our kernel 1.6-2.8x the direct one's speed at a batch of 8 (32 4x4
// tiles), and at a batch of 4 (16 tiles) 4.5-6.9 ms against about 9 at the direct kernel's rate of
// batch 8; at a batch of 1 the transformed weights, read for 4 tiles, cost what the multiplications
// save (docs/onnx.md, item 24).
bool takes_own_winograd(const Conv2dShape& s) {
  if (!winograd_shape(s) || s.pad_h != 1 || s.pad_w != 1) return false;
  const bool large_map = winograd_for_changing_weights(s);
  const bool tiles_enough = Winograd3x3::tiles(Winograd3x3::Tile::F4x4, s.N, s.OH, s.OW) >= 16;
  return (large_map || tiles_enough) && !onednn_has_f32_winograd();
}

PassKernels conv2d_f32_kernels(const Conv2dShape& shape) {
  if (pointwise_gemm::takes(shape)) return {"pointwise_gemm", "pointwise_gemm", "pointwise_gemm"};
  const Conv2dShape s = as_batches(shape) ? batched_shape(shape) : shape;
  PassKernels k;
  const bool own = takes_own_winograd(s);
  guarded("kernel names", s, [&] {
    const char* own_name = Winograd3x3::name(Winograd3x3::tile_for(s.N, s.H, s.W));
    k.forward = own ? own_name : forward_primitive(s, false, false).pd.impl_info_str();
    k.backward_data = own ? own_name : backward_data_primitive(s, false).pd.impl_info_str();
    k.backward_weights = weight_gradient_by_im2col_f32(s, false) ? "csg:im2col_sgemm"
                                                                   : backward_weights_primitive(s, false, false).pd.impl_info_str();
  });
  return k;
}

}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
