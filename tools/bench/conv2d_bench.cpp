// tools/bench/conv2d_bench.cpp — CPU time of a ResNet-style 3x3 convolution (batch 32, 64 -> 64
// channels, 56x56, stride 1, pad 1, no bias), forward and forward+backward (input and weight
// gradients), next to PyTorch's time for the same op with the same number of threads,
// measured in the same run by tools/bench/conv2d_torch.py under /usr/bin/python3.
//
//   build/bench/conv2d_bench [--iters K] [--torch-script PATH]
// Threads: OMP_NUM_THREADS if set, else every core (omp_get_num_procs); OpenBLAS gets the same.
// Each figure is the median (and the minimum) of K timed iterations (default 7) after one
// warm-up; the ratio compares medians.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "csg/csg.h"

using namespace csg;

namespace {

constexpr int64_t kBatch = 32, kChannels = 64, kSize = 56;

struct Timing {
  double median, min;  // ms
};

template <class F>
Timing time_ms(F f, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0]};
}

int thread_count() {
  if (const char* env = std::getenv("OMP_NUM_THREADS"))
    if (int n = std::atoi(env); n > 0) return n;
  return omp_get_num_procs();
}

// Runs the PyTorch side; returns its fwd+bwd median in ms, or a negative value (and says why).
double run_torch(const std::string& script, int threads, int iters) {
  const char* python = "/usr/bin/python3";
  if (access(python, X_OK) != 0) {
    std::printf("PyTorch comparison skipped: %s not found (Debian's python3 with python3-torch is expected)\n", python);
    return -1;
  }
  if (access(script.c_str(), R_OK) != 0) {
    std::printf("PyTorch comparison skipped: %s not found (run from the repository root)\n", script.c_str());
    return -1;
  }
  std::string cmd = std::string(python) + " " + script + " --threads " + std::to_string(threads) + " --iters " +
                    std::to_string(iters) + " --batch " + std::to_string(kBatch) + " --channels " +
                    std::to_string(kChannels) + " --size " + std::to_string(kSize) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    std::printf("PyTorch comparison skipped: could not run %s\n", cmd.c_str());
    return -1;
  }
  double both = -1;
  char line[1024];
  std::string skipped;
  while (std::fgets(line, sizeof line, p)) {
    if (std::strncmp(line, "skipped: ", 9) == 0) {
      skipped = line + 9;
      continue;
    }
    std::fputs(line, stdout);
    const char* at = std::strstr(line, "fwd+bwd cpu: torch ");
    if (at) both = std::atof(at + std::strlen("fwd+bwd cpu: torch "));
  }
  const int status = pclose(p);
  if (!skipped.empty()) {
    std::printf("PyTorch comparison skipped: %s", skipped.c_str());
    return -1;
  }
  if (both <= 0) std::printf("PyTorch comparison skipped: %s gave no timing (exit status %d)\n", script.c_str(), status);
  return both;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 7;
  std::string script = "tools/bench/conv2d_torch.py";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) {
      iters = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--torch-script") && i + 1 < argc) {
      script = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--iters K] [--torch-script PATH]\n", argv[0]);
      return 2;
    }
  }
  const int threads = thread_count();
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);

  Generator gen(0);
  Tensor x = rand({kBatch, kChannels, kSize, kSize}, gen, {}, -1.0, 1.0);
  Tensor w = mul(rand({kChannels, kChannels, 3, 3}, gen, {}, -1.0, 1.0), 0.05);
  Tensor dy = rand({kBatch, kChannels, kSize, kSize}, gen);
  Conv2dOptions opt;
  opt.pad_h = opt.pad_w = 1;
  char label[128];
  std::snprintf(label, sizeof label, "conv2d 3x3 %lld->%lld %lldx%lld b%lld", (long long)kChannels,
                (long long)kChannels, (long long)kSize, (long long)kSize, (long long)kBatch);

  std::printf("conv2d CPU benchmark: %d threads (OMP_NUM_THREADS / cores), median of %d after 1 warm-up\n", threads,
              iters);
  const Timing fwd = time_ms(
      [&] {
        NoGradGuard ng;
        conv2d(x, w, Tensor(), opt);
      },
      1, iters);
  std::printf("%s fwd cpu: csg %.1f ms (min %.1f)\n", label, fwd.median, fwd.min);
  std::fflush(stdout);

  Tensor xg = x.clone().requires_grad_(), wg = w.clone().requires_grad_();
  const Timing both = time_ms(
      [&] {
        xg.zero_grad();
        wg.zero_grad();
        conv2d(xg, wg, Tensor(), opt).backward(dy);
      },
      1, iters);
  std::printf("%s fwd+bwd cpu: csg %.1f ms (min %.1f)\n", label, both.median, both.min);
  std::fflush(stdout);

  const double torch_both = run_torch(script, threads, iters);
  if (torch_both > 0)
    std::printf("%s fwd+bwd cpu: csg / torch = %.2f (medians: csg %.1f ms, torch %.1f ms, %d threads)\n", label,
                both.median / torch_both, both.median, torch_both, threads);
  return 0;
}
