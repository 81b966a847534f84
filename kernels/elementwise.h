// kernels/elementwise.h — the elementwise functions, shared by the CPU loops
// (src/ops/elementwise.cpp) and the CUDA kernels (kernels/elementwise.cu), plus the launchers.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/strided.h"

namespace csg {

enum class BinaryOp { Add, Sub, Mul, Div, ReluGrad /* a * (b > 0) */ };
enum class UnaryOp { Neg, Exp, Log, Sqrt, Relu, Square, AddScalar, MulScalar };

template <BinaryOp op, class T>
CSG_HD T apply_binary(T a, T b) {
  if constexpr (op == BinaryOp::Add) return a + b;
  if constexpr (op == BinaryOp::Sub) return a - b;
  if constexpr (op == BinaryOp::Mul) return a * b;
  if constexpr (op == BinaryOp::Div) return a / b;
  if constexpr (op == BinaryOp::ReluGrad) return b > T(0) ? a : T(0);
}

template <UnaryOp op, class T>
CSG_HD T apply_unary(T x, T s) {
  using std::exp;
  using std::log;
  using std::sqrt;
  if constexpr (op == UnaryOp::Neg) return -x;
  if constexpr (op == UnaryOp::Exp) return exp(x);
  if constexpr (op == UnaryOp::Log) return log(x);
  if constexpr (op == UnaryOp::Sqrt) return sqrt(x);
  if constexpr (op == UnaryOp::Relu) return x > T(0) ? x : T(0);
  if constexpr (op == UnaryOp::Square) return x * x;
  if constexpr (op == UnaryOp::AddScalar) return x + s;
  if constexpr (op == UnaryOp::MulScalar) return x * s;
}

namespace kernels {
// out[i] = op(a[la(i)], b[lb(i)]), out contiguous with la.sizes (== lb.sizes).
void binary_f32(BinaryOp op, float* out, const float* a, const StridedLayout& la, const float* b,
                const StridedLayout& lb, int64_t n);
// out[i] = op(x[i], s), x contiguous.
void unary_f32(UnaryOp op, float* out, const float* x, int64_t n, float s);
}  // namespace kernels

}  // namespace csg
