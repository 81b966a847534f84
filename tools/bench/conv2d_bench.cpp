// tools/bench/conv2d_bench.cpp — CPU time of two ResNet convolutions, forward and forward+backward,
// on each of our CPU paths (oneDNN and im2col + OpenBLAS, when built with oneDNN) next to
// PyTorch's time for the same op with the same number of threads, measured in the same run by
// tools/bench/conv2d_torch.py under /usr/bin/python3:
//   3x3 64->64 56x56 batch 32, stride 1, pad 1 (layer1): backward computes input and weight gradients;
//   7x7 3->64 224x224 batch 32, stride 2, pad 3 (the stem): backward computes the weight gradient
//   only, as in the model (the image needs none).
//
//   build/bench/conv2d_bench [--iters K] [--torch-script PATH]
// Threads: OMP_NUM_THREADS if set, else every core (omp_get_num_procs); OpenBLAS gets the same.
// Each figure is the median (and the minimum) of K timed iterations (default 7) after one
// warm-up, with GFLOP/s from the median (2 FLOPs per multiply-add, each pass counted); the
// ratios compare medians (csg / torch < 1 is faster than PyTorch).
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "csg/csg.h"
#include "tests/internals.h"

using namespace csg;

namespace {

struct Case {
  const char* label;
  int64_t batch, in_ch, out_ch, size, kernel, stride, pad;
  bool input_grad;
  int64_t out_size() const { return (size + 2 * pad - kernel) / stride + 1; }
  double gflop_per_pass() const {
    return 2.0 * batch * out_ch * out_size() * out_size() * in_ch * kernel * kernel * 1e-9;
  }
};

const Case kCases[] = {
    {"conv2d 3x3 64->64 56x56 b32", 32, 64, 64, 56, 3, 1, 1, true},
    {"conv2d 7x7s2 3->64 224x224 b32 (stem)", 32, 3, 64, 224, 7, 2, 3, false},
};

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

// Runs the PyTorch side of one case; returns its medians ("fwd", "fwd+bwd") in ms (empty, and
// says why, when it cannot run).
std::map<std::string, double> run_torch(const std::string& script, const Case& c, int threads, int iters) {
  const char* python = "/usr/bin/python3";
  if (access(python, X_OK) != 0) {
    std::printf("PyTorch comparison skipped: %s not found (Debian's python3 with python3-torch is expected)\n", python);
    return {};
  }
  if (access(script.c_str(), R_OK) != 0) {
    std::printf("PyTorch comparison skipped: %s not found (run from the repository root)\n", script.c_str());
    return {};
  }
  char args[512];
  std::snprintf(args, sizeof args,
                " --threads %d --iters %d --batch %lld --in-channels %lld --out-channels %lld --size %lld --kernel %lld "
                "--stride %lld --pad %lld %s --label '%s' 2>&1",
                threads, iters, (long long)c.batch, (long long)c.in_ch, (long long)c.out_ch, (long long)c.size,
                (long long)c.kernel, (long long)c.stride, (long long)c.pad, c.input_grad ? "" : "--no-input-grad",
                c.label);
  const std::string cmd = std::string(python) + " " + script + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    std::printf("PyTorch comparison skipped: could not run %s\n", cmd.c_str());
    return {};
  }
  std::map<std::string, double> medians;
  char line[1024];
  std::string skipped;
  while (std::fgets(line, sizeof line, p)) {
    if (std::strncmp(line, "skipped: ", 9) == 0) {
      skipped = line + 9;
      continue;
    }
    std::fputs(line, stdout);
    for (const char* pass : {"fwd", "fwd+bwd"}) {
      const std::string tag = std::string(" ") + pass + " cpu: torch ";
      if (const char* at = std::strstr(line, tag.c_str())) medians[pass] = std::atof(at + tag.size());
    }
  }
  const int status = pclose(p);
  if (!skipped.empty()) {
    std::printf("PyTorch comparison skipped: %s", skipped.c_str());
    return {};
  }
  if (medians.size() != 2)
    std::printf("PyTorch comparison skipped: %s gave no timing (exit status %d)\n", script.c_str(), status);
  return medians;
}

// Our fwd and fwd+bwd medians for one case on the current CPU path, one line each.
std::map<std::string, double> run_ours(const Case& c, const char* path, int iters) {
  Generator gen(0);
  Tensor x = rand({c.batch, c.in_ch, c.size, c.size}, gen, {}, -1.0, 1.0);
  Tensor w = mul(rand({c.out_ch, c.in_ch, c.kernel, c.kernel}, gen, {}, -1.0, 1.0), 0.05);
  Tensor dy = rand({c.batch, c.out_ch, c.out_size(), c.out_size()}, gen);
  Conv2dOptions opt;
  opt.stride_h = opt.stride_w = c.stride;
  opt.pad_h = opt.pad_w = c.pad;

  std::map<std::string, double> medians;
  const Timing fwd = time_ms(
      [&] {
        NoGradGuard ng;
        conv2d(x, w, Tensor(), opt);
      },
      1, iters);
  std::printf("%s fwd cpu: csg-%s %.1f ms (min %.1f) %.0f GFLOP/s\n", c.label, path, fwd.median, fwd.min,
              c.gflop_per_pass() / (fwd.median * 1e-3));
  std::fflush(stdout);
  medians["fwd"] = fwd.median;

  Tensor xg = c.input_grad ? x.clone().requires_grad_() : x, wg = w.clone().requires_grad_();
  const Timing both = time_ms(
      [&] {
        if (c.input_grad) xg.zero_grad();
        wg.zero_grad();
        conv2d(xg, wg, Tensor(), opt).backward(dy);
      },
      1, iters);
  const int passes = c.input_grad ? 3 : 2;
  std::printf("%s fwd+bwd cpu: csg-%s %.1f ms (min %.1f) %.0f GFLOP/s\n", c.label, path, both.median, both.min,
              passes * c.gflop_per_pass() / (both.median * 1e-3));
  std::fflush(stdout);
  medians["fwd+bwd"] = both.median;
  return medians;
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

  std::printf("conv2d CPU benchmark: %d threads (OMP_NUM_THREADS / cores), median of %d after 1 warm-up; "
              "OpenBLAS core %s, oneDNN ISA %s\n",
              threads, iters, openblas_get_corename(), onednn::isa_name().c_str());
  for (const Case& c : kCases) {
    std::map<std::string, std::map<std::string, double>> ours;
    if (onednn::active()) ours["onednn"] = run_ours(c, "onednn", iters);
    {
      onednn::PlainPathGuard plain;
      ours["im2col"] = run_ours(c, "im2col", iters);
    }
    const std::map<std::string, double> torch = run_torch(script, c, threads, iters);
    for (const auto& [path, medians] : ours)
      for (const auto& [pass, torch_ms] : torch)
        std::printf("%s %s cpu: csg-%s / torch = %.2f (medians: csg %.1f ms, torch %.1f ms, %d threads)\n", c.label,
                    pass.c_str(), path.c_str(), medians.at(pass) / torch_ms, medians.at(pass), torch_ms, threads);
  }
  return 0;
}
