// kernels/blas.cu — cuBLAS behind kernels::gemm_f32 / gemm_strided_batched_f32.
//
// cuBLAS is column-major. A row-major [R,C] matrix with leading dim ld is, read column-major,
// its transpose [C,R] with the same ld. So the row-major product C = op(A)·op(B) is computed as
// the column-major product C^T = op(B)^T · op(A)^T: swap the operands and M with N, keep each
// operand's own transpose flag.
#include <atomic>
#include <climits>

#include "kernels/blas.h"
#include "kernels/common.cuh"

namespace csg::kernels {

namespace {

void check_int(const char* what, int64_t v) {
  CSG_CHECK(v >= 0 && v <= INT_MAX, "cuBLAS gemm: ", what, " = ", v, " does not fit cuBLAS's int interface");
}

void check_sizes(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  check_int("M", M);
  check_int("N", N);
  check_int("K", K);
  check_int("lda", lda);
  check_int("ldb", ldb);
  check_int("ldc", ldc);
}

std::atomic<bool> g_allow_tf32{false};

// The handle is shared by every gemm; its math mode follows the switch at each call (a host-side
// setter, no device work).
cublasHandle_t handle() {
  cublasHandle_t h = cublas();
  CSG_CUBLAS_CHECK(cublasSetMathMode(h, g_allow_tf32.load() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return h;
}

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

// C = beta * C when op(A)·op(B) is empty (K == 0); cuBLAS's handling of K == 0 is not relied on.
__global__ void scale_matrix(float* C, int64_t M, int64_t N, int64_t ldc, int64_t stride_c, int64_t batch,
                             float beta) {
  const int64_t total = batch * M * N;
  CSG_KERNEL_LOOP(i, total) {
    int64_t b = i / (M * N), r = (i / N) % M, c = i % N;
    float* p = C + b * stride_c + r * ldc + c;
    *p = beta == 0.f ? 0.f : beta * *p;
  }
}

bool handled_degenerate(int64_t M, int64_t N, int64_t K, float beta, float* C, int64_t ldc, int64_t stride_c,
                        int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return true;
  if (K > 0) return false;
  scale_matrix<<<grid_for(batch * M * N), kThreads, 0, stream()>>>(C, M, N, ldc, stride_c, batch, beta);
  CSG_KERNEL_CHECK("scale_matrix");
  return true;
}

}  // namespace

void gemm_set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool gemm_allow_tf32() { return g_allow_tf32.load(); }

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_sizes(M, N, K, lda, ldb, ldc);
  if (handled_degenerate(M, N, K, beta, C, ldc, 0, 1)) return;
  CSG_CUBLAS_CHECK(cublasSgemm(handle(), op(trans_b), op(trans_a), (int)N, (int)M, (int)K, &alpha, B, (int)ldb, A,
                               (int)lda, &beta, C, (int)ldc));
}

void gemm_strided_batched_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                              const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                              int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  check_sizes(M, N, K, lda, ldb, ldc);
  check_int("batch", batch);
  if (handled_degenerate(M, N, K, beta, C, ldc, stride_c, batch)) return;
  CSG_CUBLAS_CHECK(cublasSgemmStridedBatched(handle(), op(trans_b), op(trans_a), (int)N, (int)M, (int)K, &alpha, B,
                                             (int)ldb, (long long)stride_b, A, (int)lda, (long long)stride_a, &beta,
                                             C, (int)ldc, (long long)stride_c, (int)batch));
}

}  // namespace csg::kernels
