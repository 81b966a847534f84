// src/ops/elementwise.cpp — broadcasting binary ops and unary ops with their backwards.
#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/elementwise.h"
#include "src/core/dispatch.h"
#include "src/ops/conv2d_cpu.h"

namespace csg {

namespace {

// NumPy broadcasting: align at the right, a size-1 dim stretches.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CSG_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " do not broadcast (dim ", i, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

template <BinaryOp op, class T>
void binary_cpu(T* out, const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, int64_t n,
                bool dense) {
  if (dense) {
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) out[i] = apply_binary<op>(a[i], b[i]);
  } else {  // row by row (la and lb share sizes: both are the broadcast shape)
    const int64_t len = la.row_length(), rows = len ? n / len : 0, sa = la.row_stride(), sb = lb.row_stride();
#pragma omp parallel for if (n > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const T* pa = a + la.offset(r * len);
      const T* pb = b + lb.offset(r * len);
      T* po = out + r * len;
      if (sa == 1 && sb == 0) {  // a row against a broadcast value (bias, per-channel scale)
        const T vb = *pb;
        for (int64_t j = 0; j < len; ++j) po[j] = apply_binary<op>(pa[j], vb);
      } else if (sa == 0 && sb == 1) {
        const T va = *pa;
        for (int64_t j = 0; j < len; ++j) po[j] = apply_binary<op>(va, pb[j]);
      } else {
        for (int64_t j = 0; j < len; ++j) po[j] = apply_binary<op>(pa[j * sa], pb[j * sb]);
      }
    }
  }
}

// Forward of every binary op: broadcast, then one pass over the output.
template <BinaryOp op>
Tensor binary_forward(const char* name, const Tensor& a, const Tensor& b) {
  check_float(name, a, "lhs");
  check_float(name, b, "rhs");
  check_same_device(name, a, b);
  check_same_dtype(name, a, b);
  Shape shape = broadcast_shape(name, a.shape(), b.shape());
  Tensor ea = a.detach().expand(shape), eb = b.detach().expand(shape);
  Tensor out = empty(shape, a.options());
  const int64_t n = out.numel();
  StridedLayout la = layout_of(ea), lb = layout_of(eb);
  if (a.is_cuda()) {
    CSG_CUDA_CALL(name, kernels::binary_f32(op, out.data<float>(), ea.data<float>(), la, eb.data<float>(), lb, n));
  } else {
    bool dense = ea.is_contiguous() && eb.is_contiguous();
    dispatch_float(a.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      binary_cpu<op>(out.data<T>(), ea.data<T>(), la, eb.data<T>(), lb, n, dense);
    });
  }
  return out;
}

template <UnaryOp op>
Tensor unary_forward(const char* name, const Tensor& x_in, double s = 0.0) {
  check_float(name, x_in, "input");
  Tensor x = x_in.detach().contiguous();
  Tensor out = empty(x.shape(), x.options());
  const int64_t n = x.numel();
  if (x.is_cuda()) {
    CSG_CUDA_CALL(name, kernels::unary_f32(op, out.data<float>(), x.data<float>(), n, static_cast<float>(s)));
  } else {
    dispatch_float(x.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* po = out.data<T>();
      const T ts = static_cast<T>(s);
      // simd: GCC -O2's cost model leaves this loop scalar (ReLU took 7% of a ResNet-18 step's
      // samples); lane by lane it computes the same values.
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) po[i] = apply_unary<op>(px[i], ts);
    });
  }
  return out;
}

}  // namespace

// ---- binary --------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinaryOp::Add>("add", a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record("add", out, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinaryOp::Sub>("sub", a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record("sub", out, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinaryOp::Mul>("mul", a, b);
  if (!any_requires_grad({a, b})) return out;
  Saved sa(a), sb(b);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("mul", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor av = sa.get("mul"), bv = sb.get("mul");
    return {need_a ? sum_to(mul(g, bv), av.shape()) : Tensor(), need_b ? sum_to(mul(g, av), bv.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinaryOp::Div>("div", a, b);
  if (!any_requires_grad({a, b})) return out;
  Saved sa(a), sb(b);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("div", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor av = sa.get("div"), bv = sb.get("div");
    Tensor ga, gb;
    if (need_a) ga = sum_to(div(g, bv), av.shape());
    if (need_b) gb = sum_to(neg(div(mul(g, av), mul(bv, bv))), bv.shape());  // d(a/b)/db = -a/b^2
    return {ga, gb};
  });
}

// ---- scalar and unary ------------------------------------------------------------------------
Tensor add(const Tensor& a, double s) {
  Tensor out = unary_forward<UnaryOp::AddScalar>("add_scalar", a, s);
  return record("add_scalar", out, {a}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor mul(const Tensor& a, double s) {
  Tensor out = unary_forward<UnaryOp::MulScalar>("mul_scalar", a, s);
  return record("mul_scalar", out, {a}, [s](const Tensor& g) -> std::vector<Tensor> { return {mul(g, s)}; });
}

Tensor neg(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Neg>("neg", x);
  return record("neg", out, {x}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Exp>("exp", x);
  Saved y(out);
  return record("exp", out, {x}, [y](const Tensor& g) -> std::vector<Tensor> { return {mul(g, y.get("exp"))}; });
}

Tensor log(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Log>("log", x);
  Saved sx(x);
  return record("log", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {div(g, sx.get("log"))}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Sqrt>("sqrt", x);
  Saved y(out);
  return record("sqrt", out, {x}, [y](const Tensor& g) -> std::vector<Tensor> {
    return {div(mul(g, 0.5), y.get("sqrt"))};  // d sqrt(x) = 1 / (2 sqrt(x))
  });
}

Tensor square(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Square>("square", x);
  Saved sx(x);
  return record("square", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    return {mul(mul(g, sx.get("square")), 2.0)};
  });
}

Tensor relu(const Tensor& x) {
  Tensor out = unary_forward<UnaryOp::Relu>("relu", x);
  Saved y(out);  // y > 0 exactly where x > 0, and y is what later ops keep alive anyway
  return record("relu", out, {x}, [y](const Tensor& g) -> std::vector<Tensor> {
    return {binary_forward<BinaryOp::ReluGrad>("relu_backward", g, y.get("relu"))};
  });
}

namespace {

// The gradient of a per-channel shift: the sums of g [N,C,...] over every dim but 1.
Tensor channel_sums(const Tensor& g_in) {
  const Tensor g = g_in.contiguous();
  const int64_t N = g.size(0), C = g.size(1), inner = N * C > 0 ? g.numel() / (N * C) : 0;
  Tensor out = empty({C}, g.options());
  dispatch_float(g.dtype(), "add_relu_backward", [&](auto tag) {
    using T = decltype(tag);
    conv2d_cpu::channel_sums(g.data<T>(), N, C, inner, out.data<T>());
  });
  return out;
}

}  // namespace

Tensor add_relu(const Tensor& a, const Tensor& b, const Tensor& channel_shift) {
  constexpr const char* kOp = "add_relu";
  check_float(kOp, a, "lhs");
  check_float(kOp, b, "rhs");
  check_same_device(kOp, a, b);
  check_same_dtype(kOp, a, b);
  check_same_shape(kOp, a, b);
  const bool shifted = channel_shift.defined();
  if (shifted) {
    CSG_CHECK(a.dim() >= 2, kOp, ": a channel shift needs inputs [N,C,...], got ", a.describe());
    check_channel_vector(kOp, a, 1, "C", channel_shift, "channel_shift", false);
  }
  if (a.is_cuda()) {
    if (!shifted) return relu(add(a, b));
    Shape per_channel(a.dim(), 1);
    per_channel[1] = a.size(1);
    return relu(add(add(a, b), channel_shift.reshape(per_channel)));
  }
  Tensor ca = a.detach().contiguous(), cb = b.detach().contiguous();
  const Tensor shift = shifted ? channel_shift.detach().contiguous() : Tensor();
  Tensor out = empty(a.shape(), a.options());
  const int64_t n = out.numel();
  dispatch_float(a.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    const T *pa = ca.data<T>(), *pb = cb.data<T>();
    T* po = out.data<T>();
    if (!shifted) {
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) po[i] = apply_unary<UnaryOp::Relu>(apply_binary<BinaryOp::Add>(pa[i], pb[i]), T(0));
      return;
    }
    // Row r = n * C + c of `inner` values shares channel c's shift.
    const T* ps = shift.data<T>();
    const int64_t C = a.size(1), rows = a.size(0) * C, inner = rows ? n / rows : 0;
#pragma omp parallel for if (n > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T s = ps[r % C];
      const T *ra = pa + r * inner, *rb = pb + r * inner;
      T* ro = po + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i)
        ro[i] = apply_unary<UnaryOp::Relu>(apply_binary<BinaryOp::Add>(apply_binary<BinaryOp::Add>(ra[i], rb[i]), s), T(0));
    }
  });
  Saved y(out);
  return record(kOp, out, {a, b, channel_shift}, [y, shifted](const Tensor& g) -> std::vector<Tensor> {
    Tensor masked = binary_forward<BinaryOp::ReluGrad>("add_relu_backward", g, y.get("add_relu"));
    return {masked, masked, shifted ? channel_sums(masked) : Tensor()};
  });
}

}  // namespace csg
