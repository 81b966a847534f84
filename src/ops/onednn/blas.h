// src/ops/onednn/blas.h — GEMMs on oneDNN, row-major: the f32 one on dnnl_sgemm (JIT kernels
// for the CPU's ISA), the twin of the float csg::blas::gemm with the same contract
// (src/ops/blas.h); and a BF16 one on oneDNN's matmul primitive (AMX or AVX512_BF16).
#pragma once
#include <cstdint>

namespace csg::onednn {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// C [M,N] = op(A) [M,K] · op(B) [K,N], or C += it when `accumulate`. A and B hold BF16 values
// (their bits, as kernels/bf16.h writes them), C is f32: each product of two BF16 values is exact
// in f32 and the sums are f32, as in oneDNN's BF16 convolutions. op(X) = X^T when trans_x
// (X then stored [K,M] / [N,K]); lda, ldb, ldc are the row strides as stored. One matmul
// primitive per shape, created on first use and kept (per thread). Needs has_bf16().
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, bool accumulate, float* C, int64_t ldc);

}  // namespace csg::onednn
