// src/ops/onednn/blas.cpp — the f32 GEMM on oneDNN's dnnl_sgemm. It runs on the OpenMP pool the
// rest of the engine uses (Debian's libdnnl is built on GNU OpenMP).
#include "src/ops/onednn/blas.h"

#ifdef CSG_WITH_DNNL

#include <oneapi/dnnl/dnnl.hpp>

#include "csg/error.h"

namespace csg::onednn {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const dnnl::status st =
      dnnl::sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  CSG_CHECK(st == dnnl::status::success, "gemm (oneDNN sgemm): status ", static_cast<int>(st), " for M=", M,
            " N=", N, " K=", K, " lda=", lda, " ldb=", ldb, " ldc=", ldc, "; make DNNL=0 builds without oneDNN");
}

}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
