// src/ops/onednn/blas.cpp — see blas.h. Both run on the OpenMP pool the rest of the engine uses
// (Debian's libdnnl is built on GNU OpenMP).
#include "src/ops/onednn/blas.h"

#ifdef CSG_WITH_DNNL

#include <memory>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "csg/error.h"
#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv_geometry.h"

namespace csg::onednn {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const dnnl::status st =
      dnnl::sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  CSG_CHECK(st == dnnl::status::success, "gemm (oneDNN sgemm): status ", static_cast<int>(st), " for M=", M,
            " N=", N, " K=", K, " lda=", lda, " ldb=", ldb, " ldc=", ldc, "; make DNNL=0 builds without oneDNN");
}

namespace {

using dnnl::memory;

// A [rows, cols] operand stored row-major with row stride ld, or its transpose when `trans`.
memory::desc operand(int64_t rows, int64_t cols, int64_t ld, bool trans, memory::data_type t) {
  return memory::desc({rows, cols}, t, trans ? memory::dims{1, ld} : memory::dims{ld, 1});
}

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  explicit Matmul(const dnnl::matmul::primitive_desc& p) : pd(p), prim(p) {}
};

const Matmul& matmul_primitive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                               bool accumulate, int64_t ldc) {
  thread_local std::unordered_map<Key, std::unique_ptr<Matmul>, KeyHash> cache;
  const Key k{{M, N, K, lda, ldb, ldc, trans_a, trans_b, accumulate, 0, 0, 0, 0, 0, 0, 0}};
  auto it = cache.find(k);
  if (it != cache.end()) return *it->second;
  const memory::desc a = operand(M, K, lda, trans_a, memory::data_type::bf16);
  const memory::desc b = operand(K, N, ldb, trans_b, memory::data_type::bf16);
  const memory::desc c = operand(M, N, ldc, false, memory::data_type::f32);
  dnnl::primitive_attr attr = user_scratchpad();
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  auto entry = std::make_unique<Matmul>(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, engine()));
  return *cache.emplace(k, std::move(entry)).first->second;
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, bool accumulate, float* C, int64_t ldc) {
  try {
    const Matmul& m = matmul_primitive(trans_a, trans_b, M, N, K, lda, ldb, accumulate, ldc);
    m.prim.execute(stream(), {{DNNL_ARG_SRC, memory(m.pd.src_desc(), engine(), const_cast<uint16_t*>(A))},
                              {DNNL_ARG_WEIGHTS, memory(m.pd.weights_desc(), engine(), const_cast<uint16_t*>(B))},
                              {DNNL_ARG_DST, memory(m.pd.dst_desc(), engine(), C)},
                              {DNNL_ARG_SCRATCHPAD, scratchpad(m.pd.scratchpad_desc())}});
  } catch (const dnnl::error& e) {
    CSG_FAIL("gemm_bf16 (oneDNN matmul): ", e.what(), " for M=", M, " N=", N, " K=", K, " lda=", lda,
             " ldb=", ldb, " ldc=", ldc, trans_a ? " A^T" : "", trans_b ? " B^T" : "",
             "; BF16 needs a CPU with AVX512_BF16 or AMX (./csg info)");
  }
}

}  // namespace csg::onednn

#endif  // CSG_WITH_DNNL
