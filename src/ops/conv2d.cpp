// src/ops/conv2d.cpp — conv2d: entry checks, dispatch to oneDNN (f32 on the CPU,
// src/ops/onednn/conv2d.cpp), im2col + OpenBLAS (double, or a build without oneDNN,
// src/ops/conv2d_cpu.cpp) or cuDNN (kernels/conv2d.cu), and the backward, which computes only
// the gradients some input needs.
#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/conv2d.h"
#include "src/core/dispatch.h"
#include "src/ops/conv2d_cpu.h"
#include "src/ops/conv_shape.h"
#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv2d.h"

namespace csg {

namespace {

constexpr const char* kOp = "conv2d";

// Checks the inputs and options; returns the geometry.
kernels::Conv2dShape conv_shape(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  check_float(kOp, x, "input");
  check_float(kOp, weight, "weight");
  check_dim(kOp, x, 4, "input [N,C,H,W]");
  check_dim(kOp, weight, 4, "weight [O,C,KH,KW]");
  check_same_device(kOp, x, weight);
  check_same_dtype(kOp, x, weight);
  CSG_CHECK(x.size(1) == weight.size(1), "conv2d: input ", shape_str(x.shape()), " has ", x.size(1),
            " channels but weight ", shape_str(weight.shape()), " expects ", weight.size(1), " (groups = 1)");
  if (bias.defined()) {
    check_float(kOp, bias, "bias");
    check_same_device(kOp, x, bias);
    check_same_dtype(kOp, x, bias);
    CSG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d: bias must be [", weight.size(0),
              "] for weight ", shape_str(weight.shape()), ", got ", shape_str(bias.shape()));
  }
  CSG_CHECK(o.stride_h >= 1 && o.stride_w >= 1 && o.dilation_h >= 1 && o.dilation_w >= 1 && o.pad_h >= 0 &&
                o.pad_w >= 0,
            "conv2d: stride and dilation must be >= 1 and padding >= 0, got stride (", o.stride_h, ",", o.stride_w,
            ") dilation (", o.dilation_h, ",", o.dilation_w, ") padding (", o.pad_h, ",", o.pad_w, ")");
  const kernels::Conv2dShape s = conv2d_geometry(x.shape(), weight.shape(), o);
  CSG_CHECK(kernel_fits(s), "conv2d: the (dilated) kernel ", kernel_span_h(s), "x", kernel_span_w(s), " of weight ",
            shape_str(weight.shape()), " does not fit the padded input ", shape_str(x.shape()), " (padding ", o.pad_h,
            ",", o.pad_w, ")");
  return s;
}

template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The one choice of CPU backend for this op: oneDNN for f32 (an empty batch stays on the plain
// path, which needs no primitive for it).
bool on_onednn(const Tensor& t, const kernels::Conv2dShape& s) { return onednn::takes(t) && s.N > 0; }

kernels::ConvMath cuda_math(const ConvNumerics& n) { return {n.tf32, n.bf16(), n.deterministic}; }

#ifdef CSG_WITH_DNNL
thread_local int g_reuse_depth = 0;
#endif
// Whether a ConvWeightsReuseScope is open on this thread: only then are copies kept, and only then
// is the weights' sample worth taking.
bool reusing() {
#ifdef CSG_WITH_DNNL
  return g_reuse_depth > 0;
#else
  return false;
#endif
}

// The sample of the f32 CPU weights `w` (onednn::weight_sample) where a scope keeps copies.
uint64_t sample_if_reusing(const Tensor& w) {
  return reusing() ? onednn::weight_sample(w.data<float>(), w.numel()) : 0;
}

// Which contents the f32 CPU weights `w` hold, for the oneDNN path's kept copies: unknown (never
// kept) when `w` is a contiguous copy of a view of `weight` rather than its own storage.
onednn::WeightSource weight_source(const Tensor& w, const Tensor& weight) {
  if (&w.storage() != &weight.storage()) return {};
  return {w.storage().id(), w.storage().version(), w.offset(), !weight.requires_grad(), sample_if_reusing(w)};
}

}  // namespace

// Only the oneDNN path keeps converted weights. CUDA's BF16 mode rounds them on every call: a
// cache there would be code that has never run on a GPU.
ConvWeightsReuseScope::ConvWeightsReuseScope() {
#ifdef CSG_WITH_DNNL
  if (g_reuse_depth++ == 0) onednn::weight_cache_open();
#endif
}
ConvWeightsReuseScope::~ConvWeightsReuseScope() {
#ifdef CSG_WITH_DNNL
  if (--g_reuse_depth == 0) onednn::weight_cache_close();
#endif
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  const kernels::Conv2dShape s = conv_shape(x, weight, bias, opt);
  Tensor xc = x.detach().contiguous(), wc = weight.detach().contiguous();
  Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty({s.N, s.O, s.OH, s.OW}, x.options());
  // The numerics travel with the call, to whichever backend runs it (f64 and the plain path have
  // no BF16 mode: they compute as they always do).
  [[maybe_unused]] const ConvNumerics numerics = opt.numerics;  // unused where both backends are compiled out
  // The weights' identity and a sample of their contents: the oneDNN path keeps converted copies
  // by them (ConvWeightsReuseScope).
  const bool dnnl = on_onednn(x, s);
  [[maybe_unused]] const onednn::WeightSource w_source =  // unused where DNNL=0 compiles the calls out
      dnnl ? weight_source(wc, weight) : onednn::WeightSource{};
  if (x.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::conv2d_forward_f32(s, xc.data<float>(), wc.data<float>(), ptr_or_null<float>(bc),
                                                   y.data<float>(), cuda_math(numerics)));
  } else if (dnnl) {
    CSG_DNNL_CALL(kOp, onednn::conv2d_forward(s, xc.data<float>(), wc.data<float>(), ptr_or_null<float>(bc),
                                              y.data<float>(), w_source, onednn::mode_of(numerics)));
  } else {
    dispatch_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      conv2d_cpu::forward<T>(s, xc.data<T>(), wc.data<T>(), ptr_or_null<T>(bc), y.data<T>());
    });
  }

  if (!any_requires_grad({x, weight, bias})) return y;
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  // dx needs only the weight, dW only the input, db neither.
  Saved saved_x(need_w ? xc : Tensor()), saved_w(need_x ? wc : Tensor());
  const TensorOptions options = x.options();
  return record(kOp, y, {x, weight, bias}, [=](const Tensor& grad_out) -> std::vector<Tensor> {
    Tensor dy = grad_out.contiguous();
    Tensor xs = saved_x.get(kOp), ws = saved_w.get(kOp);
    Tensor dx = need_x ? empty({s.N, s.C, s.H, s.W}, options) : Tensor();
    Tensor dw = need_w ? empty({s.O, s.C, s.KH, s.KW}, options) : Tensor();
    Tensor db = need_b ? empty({s.O}, options) : Tensor();
    if (dy.is_cuda()) {
      if (need_x)
        CSG_CUDA_CALL(kOp, kernels::conv2d_backward_data_f32(s, ws.data<float>(), dy.data<float>(), dx.data<float>(),
                                                             cuda_math(numerics)));
      if (need_w)
        CSG_CUDA_CALL(kOp, kernels::conv2d_backward_filter_f32(s, xs.data<float>(), dy.data<float>(),
                                                               dw.data<float>(), cuda_math(numerics)));
      if (need_b) CSG_CUDA_CALL(kOp, kernels::conv2d_backward_bias_f32(s, dy.data<float>(), db.data<float>()));
    } else if (on_onednn(dy, s)) {
      // ws is wc, saved: its version is checked; its sample is taken again, as a raw write since
      // the forward pass bumps no version.
      onednn::WeightSource source = w_source;
      if (ws.defined() && source.storage != 0) source.sample = sample_if_reusing(ws);
      CSG_DNNL_CALL(kOp, onednn::conv2d_backward(s, ptr_or_null<float>(xs), ptr_or_null<float>(ws), dy.data<float>(),
                                                 ptr_or_null<float>(dx), ptr_or_null<float>(dw),
                                                 ptr_or_null<float>(db), source, onednn::mode_of(numerics)));
    } else {
      dispatch_float(dy.dtype(), kOp, [&](auto tag) {
        using T = decltype(tag);
        conv2d_cpu::backward<T>(s, ptr_or_null<T>(xs), ptr_or_null<T>(ws), dy.data<T>(), ptr_or_null<T>(dx),
                                ptr_or_null<T>(dw), ptr_or_null<T>(db));
      });
    }
    return {dx, dw, db};
  });
}

}  // namespace csg
