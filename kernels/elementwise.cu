// kernels/elementwise.cu — broadcasting binary ops and unary ops, float32.
#include "kernels/common.cuh"
#include "kernels/elementwise.h"

namespace csg::kernels {
namespace {

template <BinaryOp op>
__global__ void binary_kernel(float* out, const float* a, StridedLayout la, const float* b, StridedLayout lb,
                              int64_t n) {
  CSG_KERNEL_LOOP(i, n) { out[i] = apply_binary<op>(a[la.offset(i)], b[lb.offset(i)]); }
}
// Same shape, both contiguous: no index arithmetic.
template <BinaryOp op>
__global__ void binary_dense_kernel(float* out, const float* a, const float* b, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { out[i] = apply_binary<op>(a[i], b[i]); }
}
template <UnaryOp op>
__global__ void unary_kernel(float* out, const float* x, int64_t n, float s) {
  CSG_KERNEL_LOOP(i, n) { out[i] = apply_unary<op>(x[i], s); }
}

bool dense(const StridedLayout& l) {
  int64_t expect = 1;
  for (int d = l.ndim - 1; d >= 0; --d) {
    if (l.sizes[d] != 1 && l.strides[d] != expect) return false;
    expect *= l.sizes[d];
  }
  return true;
}

template <BinaryOp op>
void launch_binary(float* out, const float* a, const StridedLayout& la, const float* b, const StridedLayout& lb,
                   int64_t n) {
  if (dense(la) && dense(lb))
    binary_dense_kernel<op><<<grid_for(n), kThreads, 0, stream()>>>(out, a, b, n);
  else
    binary_kernel<op><<<grid_for(n), kThreads, 0, stream()>>>(out, a, la, b, lb, n);
  CSG_KERNEL_CHECK(dense(la) && dense(lb) ? "binary_dense_kernel" : "binary_kernel");
}
template <UnaryOp op>
void launch_unary(float* out, const float* x, int64_t n, float s) {
  unary_kernel<op><<<grid_for(n), kThreads, 0, stream()>>>(out, x, n, s);
  CSG_KERNEL_CHECK("unary_kernel");
}

}  // namespace

void binary_f32(BinaryOp op, float* out, const float* a, const StridedLayout& la, const float* b,
                const StridedLayout& lb, int64_t n) {
  if (n == 0) return;
  switch (op) {
    case BinaryOp::Add: launch_binary<BinaryOp::Add>(out, a, la, b, lb, n); break;
    case BinaryOp::Sub: launch_binary<BinaryOp::Sub>(out, a, la, b, lb, n); break;
    case BinaryOp::Mul: launch_binary<BinaryOp::Mul>(out, a, la, b, lb, n); break;
    case BinaryOp::Div: launch_binary<BinaryOp::Div>(out, a, la, b, lb, n); break;
    case BinaryOp::ReluGrad: launch_binary<BinaryOp::ReluGrad>(out, a, la, b, lb, n); break;
  }
}

void unary_f32(UnaryOp op, float* out, const float* x, int64_t n, float s) {
  if (n == 0) return;
  switch (op) {
    case UnaryOp::Neg: launch_unary<UnaryOp::Neg>(out, x, n, s); break;
    case UnaryOp::Exp: launch_unary<UnaryOp::Exp>(out, x, n, s); break;
    case UnaryOp::Log: launch_unary<UnaryOp::Log>(out, x, n, s); break;
    case UnaryOp::Sqrt: launch_unary<UnaryOp::Sqrt>(out, x, n, s); break;
    case UnaryOp::Relu: launch_unary<UnaryOp::Relu>(out, x, n, s); break;
    case UnaryOp::Square: launch_unary<UnaryOp::Square>(out, x, n, s); break;
    case UnaryOp::AddScalar: launch_unary<UnaryOp::AddScalar>(out, x, n, s); break;
    case UnaryOp::MulScalar: launch_unary<UnaryOp::MulScalar>(out, x, n, s); break;
  }
}

}  // namespace csg::kernels
