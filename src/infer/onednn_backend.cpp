// src/infer/onednn_backend.cpp — forward.h's walk on oneDNN primitives, activations kept in the
// layout of the convolution chain (onednn_backend.h says which and why).
#include "src/infer/onednn_backend.h"

#include "csg/error.h"

#ifdef CSG_WITH_DNNL

#include <cstring>
#include <optional>
#include <unordered_map>

#include <omp.h>

#include "src/infer/cpu_layers.h"
#include "src/infer/forward.h"
#include "src/ops/winograd_3x3.h"
#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv2d.h"
#include "src/ops/onednn/conv_geometry.h"
#include "src/ops/onednn/dilated_as_batches.h"

namespace csg::infer {

namespace {

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;
using onednn::engine;
using onednn::scratchpad;
using onednn::stream;

enum class Layout { Plain, Blocked, Nhwc };  // abcd (or ab, a), nChw16c or nChw8c (onednn::blocked_tag), acdb

// Channels per block of the Blocked layout: what this CPU's direct f32 kernels take (16 with
// AVX-512, 8 below it), so that no primitive of the chain falls to oneDNN's reference loops.
int64_t block() {
  static const int64_t b = onednn::blocked_channels();
  return b;
}
using onednn::blocked_tag;

// An activation: `shape` (logical NCHW) in `layout` and `dt`, held in a BufferPool buffer (as
// many f32 elements as the layout's bytes need) or, for the network's input, the caller's tensor.
struct Act {
  Tensor buffer;
  Shape shape;
  Dt dt = Dt::f32;
  Layout layout = Layout::Plain;

  int64_t size(int i) const { return shape[i]; }
  bool defined() const { return buffer.defined(); }
  memory::desc desc() const {
    const memory::dims d(shape.begin(), shape.end());
    if (layout == Layout::Blocked) return {d, dt, blocked_tag()};
    if (layout == Layout::Nhwc) return {d, dt, Tag::acdb};
    return {d, dt, d.size() == 4 ? Tag::abcd : d.size() == 2 ? Tag::ab : Tag::a};
  }
  memory mem() const { return memory(desc(), engine(), buffer.data<float>()); }
  // Element (n, c, h, w) of a 4-D activation, counted from the buffer's start.
  int64_t offset(int64_t n, int64_t c, int64_t h, int64_t w) const {
    const int64_t C = shape[1], H = shape[2], W = shape[3];
    if (layout == Layout::Nhwc) return ((n * H + h) * W + w) * C + c;
    const int64_t B = block();
    if (layout == Layout::Blocked) return (((n * ((C + B - 1) / B) + c / B) * H + h) * W + w) * B + c % B;
    return ((n * C + c) * H + h) * W + w;
  }
  float load(int64_t i) const {
    if (dt == Dt::f32) return buffer.data<float>()[i];
    uint32_t bits = uint32_t(reinterpret_cast<const uint16_t*>(buffer.data<float>())[i]) << 16;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  void store(int64_t i, float v) const {
    if (dt == Dt::f32) {
      buffer.data<float>()[i] = v;
      return;
    }
    uint32_t bits;  // round to nearest even, as oneDNN's own conversions do
    std::memcpy(&bits, &v, sizeof bits);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    reinterpret_cast<uint16_t*>(buffer.data<float>())[i] = static_cast<uint16_t>(bits >> 16);
  }
};

void reorder(memory from, memory to) { dnnl::reorder(from, to).execute(stream(), from, to); }


dnnl::primitive_attr conv_attr(bool residual, bool relu) {
  dnnl::primitive_attr attr = onednn::user_scratchpad();
  dnnl::post_ops ops;
  if (residual) ops.append_sum(1.0f);  // adds what dst holds before the call: the residual
  if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  return attr;
}

// One convolution at one input shape: its primitive and its weights, reordered once into the
// primitive's layout (and rounded to BF16 in a bf16 run).
struct ConvEntry {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory weights;
  memory::dims dims;
  uint64_t generation;  // the runner's weights generation the copy was made in
  ConvEntry(const dnnl::convolution_forward::primitive_desc& p, const memory::dims& d, const float* w, uint64_t gen)
      : pd(p), prim(p), weights(p.weights_desc(), engine()), dims(d) {
    take_weights(w, gen);
  }
  void take_weights(const float* w, uint64_t gen) {
    memory user(onednn::plain_desc(dims), engine(), const_cast<float*>(w));
    reorder(user, weights);
    generation = gen;
  }
};

// A 1x1 convolution at batch 1 run as one part per thread, each part a primitive over a
// contiguous share of the output channels, planned for and run on one thread
// (OneDnnBackend::channel_parts says when and why).
struct ChannelParts {
  std::vector<std::unique_ptr<ConvEntry>> parts;
  std::vector<int64_t> first;  // each part's first output channel
};

struct PoolEntry {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward prim;
  explicit PoolEntry(const dnnl::pooling_forward::primitive_desc& p) : pd(p), prim(p) {}
};

}  // namespace

// A convolution on our own Winograd kernel, and the weights' generation it last transformed.
struct WinogradEntry {
  std::unique_ptr<Winograd3x3> conv;
  uint64_t generation = 0;
};

struct OneDnnRunner::Impl {
  std::unordered_map<onednn::Key, std::unique_ptr<ConvEntry>, onednn::KeyHash> convs;
  // Null where the convolution was checked and runs whole (convs).
  std::unordered_map<onednn::Key, std::unique_ptr<ChannelParts>, onednn::KeyHash> channel_parts;
  std::unordered_map<onednn::Key, WinogradEntry, onednn::KeyHash> winograd;
  std::unordered_map<onednn::Key, std::unique_ptr<PoolEntry>, onednn::KeyHash> pools;
  uint64_t weights_generation = 0;
  OneDnnRunner::Weights weights = OneDnnRunner::Weights::Fixed;
};

namespace {

class OneDnnBackend {
 public:
  using Act = infer::Act;
  OneDnnBackend(OneDnnRunner::Impl& cache, BufferPool& pool, bool bf16)
      : cache_(cache), pool_(pool), dt_(bf16 ? Dt::bf16 : Dt::f32), layout_(bf16 ? Layout::Nhwc : Layout::Blocked) {}

  // The input stays as given (f32 NCHW): the stem convolution reorders it to what it reads.
  Act input(const Tensor& x) { return {x, x.shape(), Dt::f32, Layout::Plain}; }
  Tensor output(const Act& a) {
    CSG_CHECK(a.layout == Layout::Plain && a.dt == Dt::f32, "OneDnnBackend: the result is not plain f32");
    return a.buffer;
  }
  Act empty(const Shape& s) { return acquire(s, layout_, dt_); }
  void release(const Act& a) { pool_.release(a.buffer); }

  Act conv(const FusedConv& f, const Act& x, const Act& residual = Act()) {
    const kernels::Conv2dShape s = conv_shape(f, x.shape);
    if (!residual.defined() && runs_as_batches(s, x)) return conv_as_batches(f, s, x);
    return conv_at(f, s, x, residual);
  }
  // A dilated convolution as an undilated one over its phases (src/ops/onednn/dilated_as_batches.h),
  // as the training convolution does: that one runs on Winograd, oneDNN's where the CPU has it,
  // else ours (own_winograd, which takes every f32 blocked convolution the phases rule lets through).
  bool runs_as_batches(const kernels::Conv2dShape& s, const Act& x) const {
    return dt_ == Dt::f32 && x.layout == Layout::Blocked && layout_ == Layout::Blocked &&
           onednn::dilated_as_batches(s);
  }
  Act conv_as_batches(const FusedConv& f, const kernels::Conv2dShape& s, const Act& x) {
    const kernels::Conv2dShape p = onednn::batched_shape(s);
    const int64_t d = s.dilation_h, B = block();
    Act phases = acquire({p.N, p.C, p.H, p.W}, layout_, dt_);
    onednn::space_to_batch(x.buffer.data<float>(), phases.buffer.data<float>(), s.N, (s.C + B - 1) / B, s.H, s.W, B, d);
    Act out = conv_at(f, p, phases, Act());
    release(phases);
    Act y = acquire({s.N, s.O, s.OH, s.OW}, layout_, dt_);
    onednn::batch_to_space(out.buffer.data<float>(), y.buffer.data<float>(), s.N, (s.O + B - 1) / B, s.OH, s.OW, B, d);
    release(out);
    return y;
  }
  // f at the geometry s (its own, or the batched one of its phases).
  Act conv_at(const FusedConv& f, const kernels::Conv2dShape& s, const Act& x, const Act& residual) {
    const Shape out{s.N, s.O, s.OH, s.OW};
    CSG_CHECK(!residual.defined() || residual.shape == out, "inference: residual ", shape_str(residual.shape),
              " for a convolution output ", shape_str(out));
    Act y = residual.defined() ? residual : acquire(out, layout_, dt_);  // the sum post-op adds in place
    if (const Winograd3x3* w = own_winograd(f, s, x, y, residual.defined())) {
      w->run(x.buffer.data<float>(), f.bias.data<float>(), y.buffer.data<float>(), s.N, s.H, s.W, residual.defined(),
             f.relu);
      return y;
    }
    if (const ChannelParts* p = channel_parts(f, s, x, y, residual.defined())) {
      run_parts(*p, f, s, x, y);
      return y;
    }
    const ConvEntry& e = conv_entry(f, s, y, residual.defined());
    memory src = x.mem();
    if (e.pd.src_desc() != src.get_desc()) {  // the network's input, or an activation of another layout
      memory staged(e.pd.src_desc(), engine(), onednn::buffer(onednn::Slot::Src, e.pd.src_desc().get_size()));
      reorder(src, staged);
      src = staged;
    }
    memory dst = y.mem();
    if (e.pd.dst_desc() != dst.get_desc()) {  // a primitive of another layout (conv_entry): staged
      dst = memory(e.pd.dst_desc(), engine(), onednn::buffer(onednn::Slot::Dst, e.pd.dst_desc().get_size()));
      if (residual.defined()) reorder(y.mem(), dst);  // the sum post-op adds what dst holds
    }
    e.prim.execute(stream(), {{DNNL_ARG_SRC, src},
                              {DNNL_ARG_WEIGHTS, e.weights},
                              {DNNL_ARG_BIAS, memory(onednn::plain_desc({s.O}), engine(), f.bias.data<float>())},
                              {DNNL_ARG_DST, dst},
                              {DNNL_ARG_SCRATCHPAD, scratchpad(e.pd.scratchpad_desc())}});
    if (dst.get_data_handle() != y.buffer.data<float>()) reorder(dst, y.mem());
    return y;
  }
  // conv(x) into channels [offset, offset + O) of dst: a reorder into that slice of dst where the
  // layout allows one (whole channel blocks in the blocked layout), else element by element.
  void conv_into(const FusedConv& f, const Act& x, const Act& dst, int64_t offset) {
    Act t = conv(f, x);
    if (dst.layout != Layout::Blocked || (offset % block() == 0 && t.shape[1] % block() == 0)) {
      const memory::dims part(t.shape.begin(), t.shape.end());
      reorder(t.mem(), memory(dst.desc().submemory_desc(part, {0, offset, 0, 0}), engine(), dst.buffer.data<float>()));
    } else {
      for_each_element(t.shape, [&](int64_t n, int64_t c, int64_t h, int64_t w) {
        dst.store(dst.offset(n, offset + c, h, w), t.load(t.offset(n, c, h, w)));
      });
    }
    release(t);
  }
  Act max_pool(const Act& x, const Pool2dOptions& o) {
    const int64_t OH = (x.size(2) + 2 * o.pad_h - o.kernel_h) / o.stride_h + 1;
    const int64_t OW = (x.size(3) + 2 * o.pad_w - o.kernel_w) / o.stride_w + 1;
    Act y = acquire({x.size(0), x.size(1), OH, OW}, x.layout, x.dt);
    pool(dnnl::algorithm::pooling_max, x, y, {o.kernel_h, o.kernel_w}, {o.stride_h, o.stride_w},
         {o.pad_h, o.pad_w});
    return y;
  }
  // [N,C,H,W] -> [N,C,1,1] plain f32: oneDNN's average pooling over the whole plane in x's layout,
  // then a reorder of the small result into plain f32 for the dense layers.
  Act global_pool(const Act& x) {
    Act mean = acquire({x.size(0), x.size(1), 1, 1}, x.layout, x.dt);
    pool(dnnl::algorithm::pooling_avg_exclude_padding, x, mean, {x.size(2), x.size(3)}, {1, 1}, {0, 0});
    Act y = plain(mean);
    release(mean);
    return y;
  }
  Tensor copy_out(const Act& a) {  // as plain() below, into a new tensor the caller owns
    const Act y{csg::empty(a.shape), a.shape, Dt::f32, Layout::Plain};
    reorder(a.mem(), y.mem());
    return y.buffer;
  }
  Act dense(const Dense& d, const Act& x) {  // x [N,I,...] plain f32 -> [N,O]
    const int64_t N = x.size(0), I = d.weight.size(1), O = d.weight.size(0);
    Act y = acquire({N, O}, Layout::Plain, Dt::f32);
    cpu::dense(x.buffer.data<float>(), d.weight.data<float>(), d.bias.data<float>(), y.buffer.data<float>(), N, I, O,
               d.relu);
    return y;
  }
  // dst[:, offset + c, :, :] = v[:, c, 0, 0].
  void broadcast_into(const Act& v, const Act& dst, int64_t offset) {
    const int64_t C = v.size(1);
    std::vector<float> values(v.size(0) * C);
    for (int64_t n = 0; n < v.size(0); ++n)
      for (int64_t c = 0; c < C; ++c) values[n * C + c] = v.load(v.offset(n, c, 0, 0));
    for_each_element({dst.size(0), C, dst.size(2), dst.size(3)}, [&](int64_t n, int64_t c, int64_t h, int64_t w) {
      dst.store(dst.offset(n, offset + c, h, w), values[n * C + c]);
    });
  }
  Act upsample(const Act& x, int64_t H, int64_t W) {
    Act low = plain(x);
    Act y = acquire({x.size(0), x.size(1), H, W}, Layout::Plain, Dt::f32);
    cpu::upsample_align_corners(low.buffer.data<float>(), y.buffer.data<float>(), x.size(0) * x.size(1), x.size(2),
                                x.size(3), H, W);
    release(low);
    return y;
  }

 private:
  Act acquire(const Shape& s, Layout layout, Dt dt) {
    Act a{Tensor(), s, dt, layout};
    if (layout == Layout::Plain && dt == Dt::f32) {
      a.buffer = pool_.acquire(s);
      return a;
    }
    const size_t bytes = a.desc().get_size();
    a.buffer = pool_.acquire({static_cast<int64_t>((bytes + 3) / 4)});
    // oneDNN's kernels read the padding channels of a partial channel block; its own primitives
    // write zeros there, the element-wise writes above do not.
    if (layout == Layout::Blocked && s[1] % block() != 0) std::memset(a.buffer.data<float>(), 0, bytes);
    return a;
  }
  Act plain(const Act& x) {  // a plain f32 copy
    Act y = acquire(x.shape, Layout::Plain, Dt::f32);
    reorder(x.mem(), y.mem());
    return y;
  }
  template <class F>
  static void for_each_element(const Shape& s, F&& f) {
#pragma omp parallel for collapse(2) schedule(static) if (s[0] * s[1] * s[2] * s[3] > 16384)
    for (int64_t n = 0; n < s[0]; ++n)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w)
          for (int64_t c = 0; c < s[1]; ++c) f(n, c, h, w);
  }

  // The primitive for f at this input shape, writing y's layout (+ the residual already in y).
  static onednn::Key entry_key(const FusedConv& f, const kernels::Conv2dShape& s, const Act& y, bool residual) {
    onednn::Key k = onednn::key_of(s, true);
    k.v[13] = reinterpret_cast<intptr_t>(f.weight.data<float>());
    k.v[14] = static_cast<int64_t>(y.layout) * 2 + (y.dt == Dt::bf16 ? 1 : 0);
    k.v[15] = (residual ? 1 : 0) | (f.relu ? 2 : 0);
    return k;
  }
  const ConvEntry& conv_entry(const FusedConv& f, const kernels::Conv2dShape& s, const Act& y, bool residual) {
    std::unique_ptr<ConvEntry>& e = cache_.convs[entry_key(f, s, y, residual)];
    if (e && e->generation != cache_.weights_generation) e->take_weights(f.weight.data<float>(), cache_.weights_generation);
    if (!e) {
      const onednn::Geometry g(s);
      e = std::make_unique<ConvEntry>(whole_pd(s, g, y, conv_attr(residual, f.relu)), g.weights,
                                      f.weight.data<float>(), cache_.weights_generation);
    }
    return *e;
  }
  // The primitive that runs the convolution of geometry g whole, writing y's layout.
  dnnl::convolution_forward::primitive_desc whole_pd(const kernels::Conv2dShape& s, const onednn::Geometry& g,
                                                     const Act& y, const dnnl::primitive_attr& attr) const {
    if (std::optional<dnnl::convolution_forward::primitive_desc> pd = winograd_pd(s, g, y, attr)) return *pd;
    // src in the layout the kernel wants (any), dst in the chain's
    dnnl::convolution_forward::primitive_desc pd(
        onednn::forward_desc(dnnl::prop_kind::forward_inference, g, dt_, /*bias=*/true, y.desc()), attr, engine());
    // Some shapes have a JIT kernel only in another layout: a dilation about as wide as the map (DeepLab's
    // layer 4 and ASPP on small inputs), which oneDNN's direct kernels decline and its im2col GEMM takes in
    // plain tensors. In the chain's layout those ran on oneDNN's reference loops, 20-100 times slower (ResNet-101
    // layer 4 at 41x41: 12 s a call on an AVX2 EPYC), so they let oneDNN choose the layouts, and conv_at
    // reorders around the call.
    if (reference_kernel(pd))
      pd = dnnl::convolution_forward::primitive_desc(
          onednn::forward_desc(dnnl::prop_kind::forward_inference, g, dt_, /*bias=*/true, onednn::any_desc(g.dst, dt_)),
          attr, engine());
    return pd;
  }
  // oneDNN 2.6.3's AVX2 and SSE4.1 1x1 kernels share a convolution between threads by blocks of
  // pixels only: each thread computes every output channel of its pixels from all the weights. A
  // map of 64 pixels or fewer has too few blocks for that: at batch 1 on the AVX2 EPYC of
  // docs/onnx.md (item 27), ResNet-50's 512->2048 layers on 7x7 ran 1.08x faster on two threads
  // than on one. There, at batch 1, each thread runs a primitive over its share of the output
  // channels instead, planned for one thread; its output is a contiguous run of the blocked result.
  // (On 14x14 and 28x28 maps the split was level or slower.) Null where the convolution runs whole.
  const ChannelParts* channel_parts(const FusedConv& f, const kernels::Conv2dShape& s, const Act& x, const Act& y,
                                    bool residual) {
    const int threads = omp_get_max_threads();
    const int64_t B = block();
    if (dt_ != Dt::f32 || x.layout != Layout::Blocked || y.layout != Layout::Blocked || s.N != 1 || threads < 2 ||
        s.KH != 1 || s.KW != 1 || s.OH * s.OW > 64 || s.O % B != 0 || s.O / B < threads)
      return nullptr;
    const auto [it, fresh] = cache_.channel_parts.try_emplace(entry_key(f, s, y, residual));
    std::unique_ptr<ChannelParts>& e = it->second;
    if (!fresh && e && e->parts[0]->generation != cache_.weights_generation)
      for (size_t i = 0; i < e->parts.size(); ++i)
        e->parts[i]->take_weights(part_weights(f, s, e->first[i]), cache_.weights_generation);
    if (!fresh) return e.get();

    const dnnl::primitive_attr attr = conv_attr(residual, f.relu);
    const std::string whole = whole_pd(s, onednn::Geometry(s), y, attr).impl_info_str();
    if (whole != "jit_1x1:avx2" && whole != "jit_1x1:sse41") return nullptr;
    e = std::make_unique<ChannelParts>();
    omp_set_num_threads(1);  // oneDNN plans a primitive for the threads it may use
    try {
      const int64_t blocks = s.O / B;
      for (int t = 0; t < threads; ++t) {
        kernels::Conv2dShape part = s;
        const int64_t first = blocks * t / threads * B;
        part.O = blocks * (t + 1) / threads * B - first;
        const onednn::Geometry pg(part);
        const dnnl::convolution_forward::primitive_desc pd(
            onednn::forward_desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                 x.desc(), pg, dt_, /*bias=*/true, memory::desc(pg.dst, dt_, blocked_tag())),
            attr, engine());
        e->parts.push_back(
            std::make_unique<ConvEntry>(pd, pg.weights, part_weights(f, s, first), cache_.weights_generation));
        e->first.push_back(first);
      }
    } catch (...) {
      omp_set_num_threads(threads);
      cache_.channel_parts.erase(it);
      throw;
    }
    omp_set_num_threads(threads);
    return e.get();
  }
  static const float* part_weights(const FusedConv& f, const kernels::Conv2dShape& s, int64_t first) {
    return f.weight.data<float>() + first * s.C * s.KH * s.KW;  // [O, C, KH, KW]: the part's rows
  }
  // Each part on a thread of its own: inside a parallel region oneDNN runs a primitive on the
  // calling thread. Exceptions may not leave the region, so the first is rethrown after it.
  void run_parts(const ChannelParts& p, const FusedConv& f, const kernels::Conv2dShape& s, const Act& x,
                 const Act& y) {
    const int n = static_cast<int>(p.parts.size());
    std::string error;
#pragma omp parallel num_threads(n)
    for (int t = omp_get_thread_num(); t < n; t += omp_get_num_threads()) {
      try {
        const ConvEntry& e = *p.parts[t];
        const int64_t first = p.first[t];
        e.prim.execute(stream(), {{DNNL_ARG_SRC, x.mem()},
                                  {DNNL_ARG_WEIGHTS, e.weights},
                                  {DNNL_ARG_BIAS, memory(e.pd.bias_desc(), engine(), f.bias.data<float>() + first)},
                                  {DNNL_ARG_DST, memory(e.pd.dst_desc(), engine(),
                                                        y.buffer.data<float>() + first * s.OH * s.OW)},
                                  {DNNL_ARG_SCRATCHPAD, scratchpad(e.pd.scratchpad_desc())}});
      } catch (const std::exception& ex) {
#pragma omp critical(csg_channel_parts)
        if (error.empty()) error = ex.what();
      }
    }
    CSG_CHECK(error.empty(), "inference: a 1x1 convolution's part by output channels failed: ", error);
  }
  // f32 3x3 stride-1 convolutions on our own Winograd kernel where onednn::takes_own_winograd says
  // (below AVX-512, where oneDNN has none), with the weights transformed again only when they
  // changed (weights_changed: once for Weights::Fixed, in each step for a trained encoder, as
  // training's passes do). Null where the rule says no: oneDNN's primitive then.
  const Winograd3x3* own_winograd(const FusedConv& f, const kernels::Conv2dShape& s, const Act& x, const Act& y,
                                   bool residual) {
    if (dt_ != Dt::f32 || x.layout != Layout::Blocked || y.layout != Layout::Blocked ||
        !onednn::takes_own_winograd(s))
      return nullptr;
    const auto [it, fresh] = cache_.winograd.try_emplace(entry_key(f, s, y, residual));
    WinogradEntry& e = it->second;
    if (fresh)
      e.conv = std::make_unique<Winograd3x3>(f.weight.data<float>(), s.O, s.C, block(),
                                             Winograd3x3::tile_for(s.N, s.H, s.W));
    if (!fresh && e.generation != cache_.weights_generation) e.conv->set_weights(f.weight.data<float>());
    e.generation = cache_.weights_generation;
    return e.conv.get();
  }
  static bool reference_kernel(const dnnl::convolution_forward::primitive_desc& pd) {
    return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
  }
  // f32 3x3 stride-1 undilated convolutions (most of a ResNet's arithmetic) on oneDNN's Winograd
  // kernel, which does about half the multiplications of the direct one: on the idle 2-vCPU machine
  // of docs/onnx.md it cut ResNet-50's and ResNet-101's time by 10-18% at batch 1 and 16, within the
  // parity tests' 1e-5. The choice is fixed by the shape, not timed, so a model's results do not
  // depend on the machine's load. Weights that change before every run take Winograd only where
  // training does (OneDnnRunner::Weights). Empty where oneDNN has no such kernel for this CPU (it
  // needs AVX-512) or shape, or where the rule says no: the direct convolution then.
  std::optional<dnnl::convolution_forward::primitive_desc> winograd_pd(const kernels::Conv2dShape& s,
                                                                      const onednn::Geometry& g, const Act& y,
                                                                      const dnnl::primitive_attr& attr) const {
    const bool fixed = cache_.weights == OneDnnRunner::Weights::Fixed;
    if (dt_ != Dt::f32 || y.layout != Layout::Blocked ||
        !(fixed ? onednn::winograd_shape(s) : onednn::winograd_for_changing_weights(s)))
      return std::nullopt;
    const memory::desc src(g.src, Dt::f32, blocked_tag());  // the chain's layout: no reorder
    // forward_training keeps the weights in a blocked layout and transforms them in the kernel.
    const auto prop = fixed ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
    try {
      return dnnl::convolution_forward::primitive_desc(
          onednn::forward_desc(prop, dnnl::algorithm::convolution_winograd, src, g,
                               Dt::f32, /*bias=*/true, y.desc()),
          attr, engine());
    } catch (const dnnl::error&) {  // dnnl_unimplemented: no Winograd kernel here
      return std::nullopt;
    }
  }
  void pool(dnnl::algorithm alg, const Act& x, const Act& y, const memory::dims& kernel, const memory::dims& strides,
            const memory::dims& pad_l) {
    const memory::dims pad_r{(y.size(2) - 1) * strides[0] + kernel[0] - x.size(2) - pad_l[0],
                             (y.size(3) - 1) * strides[1] + kernel[1] - x.size(3) - pad_l[1]};
    onednn::Key k{{x.size(0), x.size(1), x.size(2), x.size(3), kernel[0], kernel[1], strides[0], strides[1], pad_l[0],
                   pad_l[1], static_cast<int64_t>(alg), static_cast<int64_t>(x.layout), x.dt == Dt::bf16, 0, 0, 0}};
    std::unique_ptr<PoolEntry>& e = cache_.pools[k];
    if (!e) {
      dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, x.desc(), y.desc(), strides, kernel, pad_l,
                                    pad_r);
      e = std::make_unique<PoolEntry>(dnnl::pooling_forward::primitive_desc(d, onednn::user_scratchpad(), engine()));
    }
    e->prim.execute(stream(), {{DNNL_ARG_SRC, x.mem()},
                               {DNNL_ARG_DST, y.mem()},
                               {DNNL_ARG_SCRATCHPAD, scratchpad(e->pd.scratchpad_desc())}});
  }

  OneDnnRunner::Impl& cache_;
  BufferPool& pool_;
  Dt dt_;
  Layout layout_;
};

}  // namespace

OneDnnRunner::OneDnnRunner() : impl_(std::make_unique<Impl>()) {}
OneDnnRunner::~OneDnnRunner() = default;
void OneDnnRunner::clear() {
  impl_->channel_parts.clear(), impl_->convs.clear(), impl_->winograd.clear(), impl_->pools.clear();
}
void OneDnnRunner::weights_changed() { ++impl_->weights_generation; }
void OneDnnRunner::set_weights(Weights w) {
  if (impl_->weights != w) clear();
  impl_->weights = w;
}
std::vector<std::string> OneDnnRunner::kernel_names() const {
  std::vector<std::string> names;
  for (const auto& [key, e] : impl_->convs) names.push_back(e->pd.impl_info_str());
  for (const auto& [key, e] : impl_->channel_parts)
    if (e)
      for (const auto& part : e->parts) names.push_back(std::string(part->pd.impl_info_str()) + " by output channels");
  for (const auto& [key, e] : impl_->pools) names.push_back(e->pd.impl_info_str());
  for (const auto& [key, e] : impl_->winograd)
    if (e.conv) names.push_back(Winograd3x3::name(e.conv->tile()));
  return names;
}

std::array<Tensor, 4> OneDnnRunner::run_stages(const CompiledNetwork& net, const Tensor& x, BufferPool& pool,
                                               const std::array<bool, 4>& wanted, bool bf16) {
  OneDnnBackend be(*impl_, pool, bf16);
  try {
    return forward_stages(be, net, x, wanted);
  } catch (const dnnl::error& e) {
    CSG_FAIL("backbone on oneDNN", bf16 ? " (bf16)" : "", ": ", e.what(), " for input ", shape_str(x.shape()));
  }
}

Tensor OneDnnRunner::run(const CompiledNetwork& net, const Tensor& x, BufferPool& pool, bool bf16) {
  OneDnnBackend be(*impl_, pool, bf16);
  try {
    return forward(be, net, x);
  } catch (const dnnl::error& e) {
    CSG_FAIL("inference on oneDNN", bf16 ? " (bf16)" : "", ": ", e.what(), " for input ", shape_str(x.shape()),
             "; make DNNL=0 builds without oneDNN");
  }
}

}  // namespace csg::infer

#else  // no oneDNN: the runner exists, so that Engine compiles, and is never reached

namespace csg::infer {
struct OneDnnRunner::Impl {};
OneDnnRunner::OneDnnRunner() : impl_(std::make_unique<Impl>()) {}
OneDnnRunner::~OneDnnRunner() = default;
void OneDnnRunner::clear() {}
void OneDnnRunner::weights_changed() {}
void OneDnnRunner::set_weights(Weights) {}
std::vector<std::string> OneDnnRunner::kernel_names() const { return {}; }
Tensor OneDnnRunner::run(const CompiledNetwork&, const Tensor&, BufferPool&, bool) {
  CSG_FAIL("inference on oneDNN: this csg was built without oneDNN (make DNNL=0)");
}
std::array<Tensor, 4> OneDnnRunner::run_stages(const CompiledNetwork&, const Tensor&, BufferPool&,
                                               const std::array<bool, 4>&, bool) {
  CSG_FAIL("backbone on oneDNN: this csg was built without oneDNN (make DNNL=0)");
}
}  // namespace csg::infer

#endif  // CSG_WITH_DNNL
