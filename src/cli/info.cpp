// src/cli/info.cpp — `csg info`: the build, the CPU kernels (OpenBLAS core, oneDNN ISA), the CUDA
// device, and a forward/backward self-check.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/csg.h"
#include "csg/version.h"
#include "src/cli/app.h"
#include "src/ops/blas.h"
#include "src/ops/onednn/context.h"

namespace csg::cli {

namespace {

// A tiny graph through the engine on one device: y = sum(relu(a*b + a)), with known gradients.
bool self_check(Device dev) {
  Tensor a = from_vector(std::vector<float>{1, -2, 3, -4}, {2, 2}, {DType::F32, dev}).requires_grad_();
  Tensor b = from_vector(std::vector<float>{0.5f, 1, 2, 1}, {2, 2}, {DType::F32, dev});
  Tensor y = sum(relu(a * b + a));
  y.backward();
  std::vector<double> g = a.grad().to_vector();
  // relu active where a*b + a > 0: elements 0 (1.5) and 2 (9); d/da = b + 1 there.
  bool ok = y.item() == 10.5 && g[0] == 1.5 && g[1] == 0 && g[2] == 3 && g[3] == 0;
  std::printf("  %s self-check: %s\n", device_name(dev), ok ? "ok" : "FAILED");
  return ok;
}

}  // namespace

void add_info_command(CLI::App& root, Invocation& inv) {
  CLI::App* c = root.add_subcommand("info", "the version, the build's backends, the CUDA device, and a self-check");
  c->callback([&inv] {
    inv.action = [] {
      std::printf("csg %s\nbuilt with: %s\n", version().c_str(), build_features().c_str());
      std::printf("CPU: f32 convolutions and GEMMs on %s; double on OpenBLAS\n",
                  onednn::active() ? "oneDNN" : "im2col + OpenBLAS");
      std::printf("  OpenBLAS core: %s\n", blas::core_name().c_str());
      if (const std::string advice = blas::core_advice(); !advice.empty()) std::printf("  %s\n", advice.c_str());
      std::printf("  oneDNN ISA: %s\n", onednn::isa_name().c_str());
      if (cuda::built_with_cuda())
        std::printf("CUDA backend compiled for %s\n", cuda::built_architectures().c_str());
      else
        std::printf("CUDA backend not compiled\n");
      std::printf("  %s\n", cuda::status().c_str());
      bool ok = self_check(Device::CPU);
      if (cuda::available()) ok = self_check(Device::CUDA) && ok;
      return ok ? 0 : 1;
    };
  });
}

}  // namespace csg::cli
