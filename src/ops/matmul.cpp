// src/ops/matmul.cpp — matmul (2-D and batched 3-D) and linear, over OpenBLAS on the CPU and
// cuBLAS on CUDA, with their backwards.
//
// Operands are handed to GEMM without a copy whenever their layout allows it: a row-major
// matrix goes as is, a transposed view (as weight^T in linear, or the transposes in every
// backward) goes with the GEMM transpose flag. Only other layouts are made contiguous.
#include <algorithm>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/blas.h"
#include "src/core/dispatch.h"
#include "src/ops/blas.h"

namespace csg {

namespace {

// A matrix [R,C] (or a batch [B,R,C] of them) as GEMM takes it: stored row-major with leading
// dim `ld`, or (trans) stored as the row-major transpose [C,R] with leading dim `ld`.
struct GemmOperand {
  Tensor t;  // the data (the input itself, or a contiguous copy); keeps the storage alive
  bool trans = false;
  int64_t ld = 1;
  int64_t batch_stride = 0;  // elements between consecutive matrices of a batch
};

GemmOperand gemm_operand(const Tensor& t) {
  const int64_t d = t.dim();
  const int64_t R = t.size(d - 2), C = t.size(d - 1);
  const int64_t sr = t.strides()[d - 2], sc = t.strides()[d - 1];
  GemmOperand op;
  op.t = t;
  if ((C <= 1 || sc == 1) && (R <= 1 || sr >= C)) {
    op.trans = false;
    op.ld = std::max<int64_t>({R <= 1 ? C : sr, C, 1});
  } else if ((R <= 1 || sr == 1) && (C <= 1 || sc >= R)) {
    op.trans = true;
    op.ld = std::max<int64_t>({C <= 1 ? R : sc, R, 1});
  } else {
    op.t = t.contiguous();
    op.trans = false;
    op.ld = std::max<int64_t>(C, 1);
  }
  if (d == 3) op.batch_stride = op.t.size(0) <= 1 ? 0 : op.t.strides()[0];
  return op;
}

// out = a @ b + beta * out for a [M,K], b [K,N], out [M,N] contiguous, or the batched
// version with a leading dim B on all three. Not recorded (callers record).
void gemm_into(const char* name, const Tensor& a, const Tensor& b, const Tensor& out, double beta) {
  const int64_t d = a.dim();
  const int64_t M = a.size(d - 2), K = a.size(d - 1), N = b.size(d - 1);
  const int64_t batch = d == 3 ? a.size(0) : 1;
  GemmOperand A = gemm_operand(a), B = gemm_operand(b);
  const int64_t stride_c = M * N;
  if (out.is_cuda()) {
    if (d == 2) {
      CSG_CUDA_CALL(name, kernels::gemm_f32(A.trans, B.trans, M, N, K, 1.f, A.t.data<float>(), A.ld,
                                            B.t.data<float>(), B.ld, static_cast<float>(beta), out.data<float>(), N));
    } else {
      CSG_CUDA_CALL(name, kernels::gemm_strided_batched_f32(A.trans, B.trans, M, N, K, 1.f, A.t.data<float>(), A.ld,
                                                            A.batch_stride, B.t.data<float>(), B.ld, B.batch_stride,
                                                            static_cast<float>(beta), out.data<float>(), N,
                                                            stride_c, batch));
    }
    return;
  }
  dispatch_float(out.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = A.t.data<T>();
    const T* pb = B.t.data<T>();
    T* pc = out.data<T>();
    // One GEMM per batch entry, one after the other: OpenBLAS threads each product itself.
    for (int64_t i = 0; i < batch; ++i)
      blas::gemm(A.trans, B.trans, M, N, K, T(1), pa + i * A.batch_stride, A.ld, pb + i * B.batch_stride, B.ld,
                 static_cast<T>(beta), pc + i * stride_c, N);
  });
}

// The transpose of the last two dims (a view).
Tensor mT(const Tensor& t) { return t.transpose(t.dim() - 2, t.dim() - 1); }

void check_operands(const char* name, const Tensor& a, const Tensor& b, const char* what_a, const char* what_b) {
  check_float(name, a, what_a);
  check_float(name, b, what_b);
  check_same_device(name, a, b);
  check_same_dtype(name, a, b);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b, "lhs", "rhs");
  CSG_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
            "matmul: expected [M,K] @ [K,N] or [B,M,K] @ [B,K,N], got ", shape_str(a.shape()), " @ ",
            shape_str(b.shape()));
  const int64_t d = a.dim();
  CSG_CHECK(a.size(d - 1) == b.size(d - 2), "matmul: inner dims differ: ", shape_str(a.shape()), " @ ",
            shape_str(b.shape()));
  CSG_CHECK(d == 2 || a.size(0) == b.size(0), "matmul: batch sizes differ: ", shape_str(a.shape()), " @ ",
            shape_str(b.shape()));
  Shape out_shape = d == 2 ? Shape{a.size(0), b.size(1)} : Shape{a.size(0), a.size(1), b.size(2)};
  Tensor out = empty(out_shape, a.options());
  gemm_into("matmul", a.detach(), b.detach(), out, 0.0);

  if (!any_requires_grad({a, b})) return out;
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  Saved sa(need_b ? a : Tensor()), sb(need_a ? b : Tensor());
  return record("matmul", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga, gb;
    if (need_a) ga = matmul(g, mT(sb.get("matmul")));  // dA = dC · B^T
    if (need_b) gb = matmul(mT(sa.get("matmul")), g);  // dB = A^T · dC
    return {ga, gb};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operands("linear", x, weight, "input", "weight");
  check_dim("linear", weight, 2, "weight");
  CSG_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()),
            " must end in in_features = ", weight.size(1), " (weight ", shape_str(weight.shape()), ")");
  const int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined()) {
    check_float("linear", bias, "bias");
    check_same_device("linear", x, bias);
    check_same_dtype("linear", x, bias);
    CSG_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear: bias must be [", out_f, "] for weight ",
              shape_str(weight.shape()), ", got ", shape_str(bias.shape()));
  }
  const int64_t M = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));  // rows of x as [M,in]
  Shape out_shape = x.shape();
  out_shape.back() = out_f;

  Tensor x2 = x.detach().reshape({M, in});
  Tensor out2 = empty({M, out_f}, x.options());
  if (bias.defined()) out2.copy_(bias.detach().expand({M, out_f}));  // then accumulate x·W^T onto it
  gemm_into("linear", x2, mT(weight.detach()), out2, bias.defined() ? 1.0 : 0.0);
  Tensor out = out2.reshape(out_shape);

  if (!any_requires_grad({x, weight, bias})) return out;
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  Saved sx(need_w ? x2 : Tensor()), sw(need_x ? weight : Tensor());
  const Shape x_shape = x.shape();
  return record("linear", out, {x, weight, bias}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor g2 = g.reshape({M, out_f});
    Tensor gx, gw, gb;
    if (need_x) gx = matmul(g2, sw.get("linear")).reshape(x_shape);  // [M,out]·[out,in]
    if (need_w) gw = matmul(mT(g2), sx.get("linear"));              // [out,M]·[M,in]
    if (need_b) gb = sum(g2, {0});
    return {gx, gw, gb};
  });
}

}  // namespace csg
