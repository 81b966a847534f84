// src/ops/blas.cpp — csg::blas::gemm: the dispatch of f32 to oneDNN, the OpenBLAS calls, and the
// check that OpenBLAS runs kernels fit for this CPU.
#include "src/ops/blas.h"

#include <cblas.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "csg/error.h"
#include "src/ops/onednn/blas.h"
#include "src/ops/onednn/context.h"

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

// The widest vector extension, as a rank: 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512.
int cpu_vector_rank() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return 4;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 3;
  if (__builtin_cpu_supports("avx")) return 2;
  return 1;
}

// The rank of the kernels of an OpenBLAS x86 core; 0 for a core not listed (no advice then).
int core_vector_rank(const std::string& core) {
  static const std::pair<const char*, int> ranks[] = {
      {"prescott", 1},    {"core2", 1},     {"penryn", 1},    {"dunnington", 1}, {"nehalem", 1},
      {"atom", 1},        {"opteron", 1},   {"barcelona", 1}, {"sandybridge", 2}, {"bulldozer", 2},
      {"piledriver", 2},  {"haswell", 3},   {"zen", 3},       {"steamroller", 3}, {"excavator", 3},
      {"skylakex", 4},    {"cooperlake", 4}, {"sapphirerapids", 4}};
  for (const auto& [name, rank] : ranks)
    if (strcasecmp(core.c_str(), name) == 0) return rank;
  return 0;
}

// Said once per process, on stderr, at the first GEMM OpenBLAS runs.
void warn_once_about_core() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string advice = core_advice();
    if (!advice.empty()) std::fprintf(stderr, "csg: %s\n", advice.c_str());
  });
}

}  // namespace

std::string core_name() { return openblas_get_corename(); }

std::string core_advice() {
  static const char* const better[] = {"", "", "Sandybridge", "Haswell", "SkylakeX"};
  static const char* const isa[] = {"", "SSE", "AVX", "AVX2", "AVX-512"};
  const std::string core = core_name();
  const int have = core_vector_rank(core), can = cpu_vector_rank();
  if (have == 0 || have >= can) return "";
  return "OpenBLAS runs its " + core + " (" + isa[have] + ") kernels on this " + isa[can] +
         " CPU; export OPENBLAS_CORETYPE=" + better[can] + " selects faster ones for the GEMMs it runs";
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_sizes(M, N, K, lda, ldb, ldc);
  if (degenerate(M, N, K, beta, C, ldc)) return;
  if (onednn::active()) {
    CSG_DNNL_CALL("gemm", onednn::gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
    return;
  }
  warn_once_about_core();
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  check_sizes(M, N, K, lda, ldb, ldc);
  if (degenerate(M, N, K, beta, C, ldc)) return;
  warn_once_about_core();
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

}  // namespace csg::blas
