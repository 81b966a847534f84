// src/ops/blas.cpp — the OpenBLAS calls behind csg::blas::gemm.
#include "src/ops/blas.h"

#include <cblas.h>

#include <climits>

#include "csg/error.h"

namespace csg::blas {

namespace {

// The CBLAS interface takes int sizes (OpenBLAS built without 64-bit indices).
void check_sizes(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  for (int64_t v : {M, N, K, lda, ldb, ldc})
    CSG_CHECK(v >= 0 && v <= INT_MAX, "gemm: size ", v, " does not fit the BLAS int interface (M=", M, " N=", N,
              " K=", K, ")");
}

// Shared by both precisions: handles the cases BLAS implementations disagree on.
// Returns true if the product was fully handled here.
template <class T>
bool degenerate(int64_t M, int64_t N, int64_t K, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return true;
  if (K > 0) return false;
  // op(A)*op(B) is all zeros: C = beta * C (beta == 0 must clear NaNs in C, as BLAS does).
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
  return true;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_sizes(M, N, K, lda, ldb, ldc);
  if (degenerate(M, N, K, beta, C, ldc)) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  check_sizes(M, N, K, lda, ldb, ldc);
  if (degenerate(M, N, K, beta, C, ldc)) return;
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

}  // namespace csg::blas
