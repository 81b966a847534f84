// src/ops/onednn/blas.h — the f32 GEMM on oneDNN (dnnl_sgemm, row-major, JIT kernels for the CPU's
// ISA): the twin of the float csg::blas::gemm, with the same contract (src/ops/blas.h).
#pragma once
#include <cstdint>

namespace csg::onednn {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace csg::onednn
