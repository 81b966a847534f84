// tools/bench/sgemm_peak.cpp — the machine's measured f32 peak: oneDNN's sgemm on a large square
// problem (the kernel that reaches closest to the CPU's FMA rate), with the OpenMP threads the
// benchmarks use. tools/bench/step_bench.py prints each step's GFLOP/s as a fraction of it.
//
//   sgemm_peak [--size 4096] [--reps 5] [--threads N]
//
// Prints `sgemm-peak n=4096 threads=2 reps=5 best_gflops=... median_gflops=...` (2 n^3 FLOPs per
// call; best = the fastest call after one untimed warm-up call).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef CSG_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

int flag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
#ifndef CSG_WITH_DNNL
  std::printf("sgemm-peak unavailable=\"built without oneDNN (make DNNL=0 or libdnnl-dev missing)\"\n");
  return 0;
#else
  const int n = flag(argc, argv, "--size", 4096), reps = std::max(1, flag(argc, argv, "--reps", 5));
  const int threads = flag(argc, argv, "--threads", 0);
  if (threads > 0) omp_set_num_threads(threads);
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 13) * 0.01f, b[i] = float(i % 7) * 0.02f;
  auto call = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    const dnnl::status st = dnnl::sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    if (st != dnnl::status::success) {
      std::fprintf(stderr, "sgemm_peak: dnnl::sgemm failed (status %d)\n", static_cast<int>(st));
      std::exit(1);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  call();  // JIT, page faults, caches
  std::vector<double> gflops;
  for (int r = 0; r < reps; ++r) gflops.push_back(2.0 * n * n * double(n) / call() / 1e9);
  std::sort(gflops.begin(), gflops.end());
  std::printf("sgemm-peak n=%d threads=%d reps=%d best_gflops=%.1f median_gflops=%.1f\n", n, omp_get_max_threads(),
              reps, gflops.back(), gflops[gflops.size() / 2]);
  return 0;
#endif
}
