// src/ops/blas.h — typed row-major GEMM on the CPU, the one entry point every CPU op that
// multiplies matrices goes through (matmul, linear, the im2col conv2d): f32 on oneDNN's sgemm
// where built (src/ops/onednn/blas.cpp), double (and f32 without oneDNN) on OpenBLAS.
//
//   C[M,N] = alpha * op(A) * op(B) + beta * C
//
// op(A) is [M,K]: A itself ([M,K], leading dim lda >= K) or, with trans_a, the transpose of
// a stored [K,M] (lda >= M). Likewise op(B) is [K,N]. C is [M,N] with ldc >= N. All row-major.
// Never call from inside an OpenMP parallel region: OpenBLAS runs its own threads.
#pragma once
#include <cstdint>
#include <string>

namespace csg::blas {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

// The OpenBLAS core in use (openblas_get_corename(), e.g. "Haswell").
std::string core_name();
// When that core's kernels are narrower than this CPU runs (Debian's OpenBLAS 0.3.21 takes some
// AVX-512 CPUs for "Prescott", SSE3): what it runs, and the OPENBLAS_CORETYPE that selects
// better ones. Empty when the core fits the CPU or is unknown here.
std::string core_advice();

}  // namespace csg::blas
