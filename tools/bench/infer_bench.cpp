// tools/bench/infer_bench.cpp — inference latency of csg's compiled network (csg/infer.h) on
// the CPU, for one model file, batch size and input size; tools/bench/infer_compare.py runs it
// beside PyTorch eager (tools/bench/infer_torch.py) on the same weights.
//
//   infer_bench --model resnet50.pth --batch 1 --height 224 --width 224 --threads 2 --warmup 2 --iters 10
//               [--precision bf16]
//
// Prints one line: `csg <model>[ bf16] b<batch> <H>x<W>: <median> ms (min <min>), <images/s> images/s,
// CPU <ms> ms/run, startup <ms> ms, peak RSS <MB> MB` (CPU: user + system time per timed run). Startup is from main() to a compiled engine (reading the
// file, building, folding); peak RSS is the process's (getrusage).
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "csg/infer.h"
#include "csg/random.h"

extern "C" void openblas_set_num_threads(int n);

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// User + system CPU time of the process so far: on a shared machine it shows the work a run did
// where the wall time also shows the waiting.
double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

const char* flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const Clock::time_point start = Clock::now();
  const std::string model = flag(argc, argv, "--model", "");
  if (model.empty()) {  // `make bench` runs every bench without arguments: say how to run this one
    std::printf("infer_bench: skipped (no --model; `make bench-infer` runs it beside PyTorch). Usage: %s --model "
                "FILE [--batch 1] [--height 224] [--width 224] [--threads N] [--warmup 2] [--iters 10]\n", argv[0]);
    return 0;
  }
  const int batch = std::atoi(flag(argc, argv, "--batch", "1"));
  const int height = std::atoi(flag(argc, argv, "--height", "224")), width = std::atoi(flag(argc, argv, "--width", "224"));
  const int threads = std::atoi(flag(argc, argv, "--threads", "0"));
  const int warmup = std::atoi(flag(argc, argv, "--warmup", "2")), iters = std::atoi(flag(argc, argv, "--iters", "10"));
  const std::string precision = flag(argc, argv, "--precision", "f32");
  if (threads > 0) omp_set_num_threads(threads), openblas_set_num_threads(threads);
  try {
    csg::infer::Engine engine(csg::infer::read_model(model));
    engine.set_precision(csg::infer::parse_precision(precision));
    const double startup = ms_since(start);
    csg::Generator gen(0);
    const csg::Tensor x = csg::randn({batch, 3, height, width}, gen);
    for (int i = 0; i < warmup; ++i) engine.run(x);
    std::vector<double> times;
    const double cpu0 = cpu_ms();
    for (int i = 0; i < iters; ++i) {
      const Clock::time_point t0 = Clock::now();
      engine.run(x);
      times.push_back(ms_since(t0));
    }
    const double cpu_per_run = (cpu_ms() - cpu0) / iters;
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("csg %s%s b%d %dx%d: %.1f ms (min %.1f), %.2f images/s, CPU %.0f ms/run, startup %.0f ms, "
                "peak RSS %.0f MB\n", engine.info().arch.c_str(), precision == "bf16" ? " bf16" : "", batch, height, width, median, times.front(),
                batch * 1000.0 / median, cpu_per_run, startup, ru.ru_maxrss / 1024.0);
  } catch (const csg::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
