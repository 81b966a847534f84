// tests/test_infer_kernels.cpp — the compiled network's oneDNN primitives run on JIT kernels of
// the CPU, never on oneDNN's reference loops. A layout that the CPU's kernels lack still gives the
// right numbers through `ref:any`, about 250 times slower (ResNet-50 on an AVX2 CPU, with the
// chain in AVX-512's nChw16c: 17 s an image), so the parity tests cannot see it; this test can.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

namespace csg {
namespace {

// Runs `module` compiled on x and checks the name of every kernel the runner made.
void expect_jit_kernels(const nn::Module& module, const Tensor& x, bool bf16, const std::string& what) {
  const infer::CompiledNetwork net = infer::compile(module);
  infer::BufferPool pool;
  infer::OneDnnRunner runner;
  pool.begin(x.shape());
  runner.run(net, x, pool, bf16);
  const std::vector<std::string> names = runner.kernel_names();
  EXPECT_GE(names.size(), 10u) << what << ": the runner made too few primitives to judge";
  for (const std::string& name : names)
    EXPECT_NE(name.rfind("ref", 0), 0u) << what << " runs a primitive on oneDNN's reference kernel (" << name
                                        << ") on " << onednn::isa_name();
  // Below AVX-512 oneDNN has no Winograd kernel: the 3x3 layers on maps of 12x12 and more take ours.
  const bool own_winograd = std::any_of(names.begin(), names.end(),
                                        [](const std::string& n) { return n.rfind("csg:winograd_", 0) == 0; });
  if (!bf16 && what.rfind("ResNet", 0) == 0) {
    EXPECT_EQ(own_winograd, onednn::blocked_channels() == 8) << what << " on " << onednn::isa_name();
  }
}

TEST(InferKernels, OneDnnChainRunsOnJitKernels) {
  if (!onednn::active()) GTEST_SKIP() << "this build has no oneDNN";
  std::printf("oneDNN dispatches to %s\n", onednn::isa_name().c_str());
  NoGradGuard ng;
  models::ResNetOptions o;  // bottlenecks: 1x1, 3x3 and stride-2 layers, 16 to 512 channels
  o.depth = 50, o.width = 16, o.num_classes = 10, o.seed = 3;
  models::ResNet resnet(o);
  resnet.eval();
  const std::unique_ptr<models::DeepLab> deeplab = testing::test_deeplab(models::DeepLabHead::AsppV2);  // dilated
  const Tensor image = testing::random_input({2, 3, 64, 48}, 5);
  for (bool bf16 : {false, true}) {
    std::string why;
    if (bf16 && !onednn::has_bf16(&why)) continue;
    const std::string precision = bf16 ? " (bf16)" : " (f32)";
    expect_jit_kernels(resnet, image, bf16, "ResNet-50" + precision);
    expect_jit_kernels(*deeplab, testing::test_deeplab_input(), bf16, "DeepLabv2" + precision);
  }
}

// The same test in a child process of this binary with oneDNN capped at an older instruction set
// (ONEDNN_MAX_CPU_ISA, read once, before its first kernel), so that every machine checks the
// layouts of the CPUs below its own.
TEST(InferKernels, OneDnnChainRunsOnJitKernelsOnOlderInstructionSets) {
  if (!onednn::active()) GTEST_SKIP() << "this build has no oneDNN";
  for (const auto& [cap, expected] : {std::pair<const char*, const char*>{"AVX2", "(avx2)"}, {"SSE41", "(sse41)"}}) {
    const testing::ShellResult r =
        testing::run_self(std::string("ONEDNN_MAX_CPU_ISA=") + cap, "InferKernels.OneDnnChainRunsOnJitKernels");
    EXPECT_EQ(r.status, 0) << "under ONEDNN_MAX_CPU_ISA=" << cap << ":\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << "the cap " << cap << " did not apply:\n" << r.output;
    EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace csg
