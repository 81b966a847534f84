// tools/bench/reduce_bench.cpp — GPU time of the reductions whose kernels use CUB's
// BlockReduce (kernels/reduce.cu, kernels/loss.cu), next to PyTorch's time for the same op on
// the same GPU, measured in the same run by tools/bench/reduce_torch.py:
//   * row sums of InfoNCE logits [32, 65537]           (sum(x, {1}))
//   * argmax over the classes of segmentation logits [6, 19, 512, 512] (argmax(x, 1))
//   * cross-entropy of InfoNCE logits [32, 65537]      (forward, status left on the device)
//
//   build/bench/reduce_bench [--iters K] [--python PATH]
// Each figure is the median of K timed iterations (default 20) after 3 warm-ups, with the
// stream synchronised around each. Without a GPU it says so and exits 0 (`make bench` runs it).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "csg/csg.h"

using namespace csg;

namespace {

template <class F>
double median_ms(F f, int iters) {
  for (int i = 0; i < 3; ++i) f();
  cuda::synchronize();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    cuda::synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// name -> PyTorch's median ms, from reduce_torch.py's "reduce <name> torch <ms>" lines.
std::map<std::string, double> torch_times(const std::string& python, int iters) {
  std::map<std::string, double> out;
  const std::string cmd = python + " tools/bench/reduce_torch.py --iters " + std::to_string(iters) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[512], name[128];
  double ms = 0;
  while (fgets(line, sizeof line, p)) {
    if (std::sscanf(line, "reduce %127s torch %lf", name, &ms) == 2) out[name] = ms;
    else std::printf("  (torch) %s", line);
  }
  pclose(p);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 20;
  std::string python = "python3";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--python") && i + 1 < argc) python = argv[++i];
    else {
      std::fprintf(stderr, "usage: reduce_bench [--iters K] [--python PATH]\n");
      return 1;
    }
  }
  if (!cuda::available()) {
    std::printf("reduce bench skipped: %s\n", cuda::status().c_str());
    return 0;
  }
  NoGradGuard no_grad;
  Generator gen(3);
  const TensorOptions dev{DType::F32, Device::CUDA};
  const Tensor logits = randn({32, 65537}, gen, dev);
  const Tensor seg = randn({6, 19, 512, 512}, gen, dev);
  const Tensor target = zeros({32}, {DType::I64, Device::CUDA});
  std::vector<std::pair<std::string, double>> ours = {
      {"sum_rows_32x65537", median_ms([&] { sum(logits, {1}); }, iters)},
      {"argmax_6x19x512x512_dim1", median_ms([&] { argmax(seg, 1); }, iters)},
      {"cross_entropy_32x65537", median_ms([&] { cross_entropy(logits, target); }, iters)},
  };
  const std::map<std::string, double> torch = torch_times(python, iters);
  for (const auto& [name, ms] : ours) {
    auto t = torch.find(name);
    if (t == torch.end())
      std::printf("reduce %s cuda: csg %.3f ms (no PyTorch figure)\n", name.c_str(), ms);
    else
      std::printf("reduce %s cuda: csg %.3f ms, torch %.3f ms, csg/torch %.2fx\n", name.c_str(), ms, t->second,
                  ms / t->second);
  }
  return 0;
}
