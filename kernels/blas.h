// kernels/blas.h — row-major float GEMM on the GPU (cuBLAS), same conventions as
// src/ops/blas.h: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, where trans_a means
// A is stored [K,M] (lda >= M), otherwise [M,K] (lda >= K); likewise B. Plain C++.
#pragma once
#include <cstdint>

namespace csg::kernels {

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// `batch` independent products; matrix i of A starts at A + i*stride_a (stride 0 reuses one
// matrix for every product), likewise B and C.
void gemm_strided_batched_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                              const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                              int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch);

// TF32 tensor-core math for these products (cuBLAS's CUBLAS_TF32_TENSOR_OP_MATH); off by
// default, as PyTorch's torch.backends.cuda.matmul.allow_tf32. Applied at the next gemm.
void gemm_set_allow_tf32(bool allow);
bool gemm_allow_tf32();

}  // namespace csg::kernels
