// src/metrics/hyperspherical_energy.cpp — E_s of a set of feature vectors, as MHE computes it
// (formulas in csg/metrics.h).
//
// The N x N cosine matrix is never held whole: rows are taken in blocks [r0, r1), and one GEMM
// gives the Gram block G = X[r0:r1] X[r0:N]^T — only the columns from r0 on, since pairs with
// j < r0 were summed with an earlier block. Each pair (i < j) then costs a division, and a
// log / square root / reciprocal in double. The GEMMs run outside OpenMP regions (OpenBLAS
// threads them itself); the pair loops are OpenMP loops with reductions. On the CPU the blocks
// go through OpenBLAS into one reused buffer; CUDA features (F32 Gram) use csg::matmul on the
// GPU and bring each block back.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "csg/autograd.h"
#include "csg/metrics.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"
#include "src/ops/blas.h"

namespace csg {

namespace {

constexpr double kNormEps = 1e-4;  // MHE: sqrt(sum x^2 + 1e-4)

// The energies of one pair for the power s (MHE's three, or any s > 0 as d2^(-s/2)).
inline double pair_energy(double d2, double power) {
  if (power == 0) return -std::log(d2);
  if (power == 1) return 1.0 / std::sqrt(d2);
  if (power == 2) return 1.0 / d2;
  return std::pow(d2, -0.5 * power);
}

struct PairSums {
  double s[3] = {0, 0, 0};  // one sum per requested power
  int64_t clamped = 0;
};

// Sums over the pairs (i, j), r0 <= i < r1, i < j < N, of one Gram block
// g [r1-r0, N-r0] (row i-r0, column j-r0 = <x_i, x_j>), with norms n[N]. `powers` holds 1 to
// 3 powers; {0, 1, 2} (the usual request) takes a branch-free inner loop.
template <class T>
PairSums sum_block(const T* g, int64_t r0, int64_t r1, int64_t N, const std::vector<double>& n,
                   const std::vector<double>& powers) {
  const int64_t cols = N - r0;
  const int np = static_cast<int>(powers.size());
  const bool mhe_three = np == 3 && powers[0] == 0 && powers[1] == 1 && powers[2] == 2;
  // Each row's sums are kept and added in row order afterwards: an OpenMP reduction would add the
  // threads' partial sums in the order they finish, so the energies would change from run to run.
  std::vector<double> row_sums(static_cast<size_t>(3 * (r1 - r0)));
  int64_t clamped = 0;
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : clamped)
  for (int64_t i = r0; i < r1; ++i) {
    const T* row = g + (i - r0) * cols;  // row[j - r0] = <x_i, x_j>
    const double ni = n[i];
    double row_sum[3] = {0, 0, 0};  // per row first, so the totals add fewer, larger terms
    for (int64_t j = i + 1; j < N; ++j) {
      const double cos_ij = static_cast<double>(row[j - r0]) / (ni * n[j]);
      double d2 = 2.0 - 2.0 * cos_ij;
      if (!(d2 > 0)) {  // rounding: see metrics.h (the reference gives NaN or inf here)
        d2 = 0;
        ++clamped;
      }
      if (mhe_three) {
        row_sum[0] -= std::log(d2);
        row_sum[1] += 1.0 / std::sqrt(d2);
        row_sum[2] += 1.0 / d2;
      } else {
        for (int k = 0; k < np; ++k) row_sum[k] += pair_energy(d2, powers[k]);
      }
    }
    for (int k = 0; k < 3; ++k) row_sums[3 * (i - r0) + k] = row_sum[k];
  }
  double s0 = 0, s1 = 0, s2 = 0;
  for (int64_t i = 0; i < r1 - r0; ++i) {
    s0 += row_sums[3 * i];
    s1 += row_sums[3 * i + 1];
    s2 += row_sums[3 * i + 2];
  }
  PairSums out;
  out.s[0] = s0;
  out.s[1] = s1;
  out.s[2] = s2;
  out.clamped = clamped;
  return out;
}

// The pair means of the energies for `powers` (1 to 3 of them), and the number of clamped pairs.
std::vector<double> energy_means(const Tensor& features, const std::vector<double>& powers, const EnergyOptions& opt,
                                 int64_t* clamped_pairs) {
  const char* op = "hyperspherical_energy";
  check_defined(op, features, "features");
  check_float(op, features, "features");
  CSG_CHECK(features.dim() == 2, op, ": features must be [N,D] (one vector per row), got ", features.describe());
  const int64_t N = features.size(0), D = features.size(1);
  CSG_CHECK(N >= 2 && D >= 1, op, ": need at least 2 vectors of dimension >= 1, got ", features.describe());
  CSG_CHECK(opt.gram_dtype == DType::F32 || opt.gram_dtype == DType::F64, op,
            ": gram_dtype must be F32 or F64, got ", dtype_name(opt.gram_dtype));
  CSG_CHECK(opt.block_elements >= 1, op, ": block_elements must be >= 1, got ", opt.block_elements);
  for (double p : powers) CSG_CHECK(p >= 0 && std::isfinite(p), op, ": power s must be >= 0, got ", p);

  NoGradGuard no_grad;
  // F64 Gram: double on the CPU. F32 Gram: float where the features are (GPU GEMM for CUDA).
  Tensor x = features.detach();
  if (opt.gram_dtype == DType::F64) x = x.to(Device::CPU);
  x = x.to(opt.gram_dtype).contiguous();

  // Norms with the epsilon inside the root, in double, from the same (possibly rounded) values.
  const std::vector<double> sq = sum(mul(x, x), {1}).to_vector();
  std::vector<double> n(N);
  for (int64_t i = 0; i < N; ++i) {
    CSG_CHECK(std::isfinite(sq[i]), op, ": feature row ", i, " is not finite (sum of squares ", sq[i], ")");
    n[i] = std::sqrt(sq[i] + kNormEps);
  }

  const int64_t block_rows = std::max<int64_t>(1, std::min<int64_t>(N, opt.block_elements / N));
  double sums[3] = {0, 0, 0};
  int64_t clamped = 0;
  auto add_block = [&](const auto* g, int64_t r0, int64_t r1) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(g)>>;
    const PairSums b = sum_block<T>(g, r0, r1, N, n, powers);
    for (int k = 0; k < 3; ++k) sums[k] += b.s[k];
    clamped += b.clamped;
  };
  // Blocks [r0, r1) up to row N-2 (the last row has no j > i). Each GEMM is
  // [r1-r0, D] x [D, N-r0]: X[r0:r1] times the transpose of X[r0:N] (a GEMM flag, no copy).
  if (x.is_cuda()) {
    for (int64_t r0 = 0; r0 < N - 1; r0 += block_rows) {
      const int64_t r1 = std::min(N - 1, r0 + block_rows);
      Tensor g = matmul(x.slice(0, r0, r1), x.slice(0, r0, N).transpose(0, 1)).to(Device::CPU);
      add_block(g.data<float>(), r0, r1);
    }
  } else {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      // One buffer for every block, straight into OpenBLAS: a fresh tensor per block would
      // page-fault its way through tens of MB each time.
      std::vector<T> g(static_cast<size_t>(block_rows) * static_cast<size_t>(N));
      const T* px = x.data<T>();
      for (int64_t r0 = 0; r0 < N - 1; r0 += block_rows) {
        const int64_t r1 = std::min(N - 1, r0 + block_rows), cols = N - r0;
        blas::gemm(false, true, r1 - r0, cols, D, T(1), px + r0 * D, D, px + r0 * D, D, T(0), g.data(), cols);
        add_block(static_cast<const T*>(g.data()), r0, r1);
      }
    });
  }
  if (clamped_pairs) *clamped_pairs = clamped;
  const double pairs = 0.5 * static_cast<double>(N) * static_cast<double>(N - 1);
  std::vector<double> means(powers.size());
  for (size_t k = 0; k < powers.size(); ++k) means[k] = sums[k] / pairs;
  return means;
}

}  // namespace

HypersphericalEnergies hyperspherical_energies(const Tensor& features, const EnergyOptions& opt) {
  HypersphericalEnergies e;
  const std::vector<double> m = energy_means(features, {0.0, 1.0, 2.0}, opt, &e.clamped_pairs);
  e.e0 = m[0];
  e.e1 = m[1];
  e.e2 = m[2];
  const int64_t N = features.size(0);
  e.num_pairs = N * (N - 1) / 2;
  return e;
}

double hyperspherical_energy(const Tensor& features, double s, const EnergyOptions& opt) {
  return energy_means(features, {s}, opt, nullptr)[0];
}

}  // namespace csg
