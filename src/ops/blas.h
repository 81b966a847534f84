// src/ops/blas.h — typed row-major GEMM on the CPU (OpenBLAS), the one entry point every CPU
// op that multiplies matrices goes through (matmul, linear, conv2d).
//
//   C[M,N] = alpha * op(A) * op(B) + beta * C
//
// op(A) is [M,K]: A itself ([M,K], leading dim lda >= K) or, with trans_a, the transpose of
// a stored [K,M] (lda >= M). Likewise op(B) is [K,N]. C is [M,N] with ldc >= N. All row-major.
// Never call from inside an OpenMP parallel region: OpenBLAS runs its own threads.
#pragma once
#include <cstdint>

namespace csg::blas {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

}  // namespace csg::blas
