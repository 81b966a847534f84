// tests/test_infer_channel_parts.cpp — at batch 1 with two threads, the 1x1 convolutions on small
// maps that oneDNN's AVX2 and SSE4.1 kernels would share between threads by pixels run as one part
// per thread over the output channels (src/infer/onednn_backend.cpp, channel_parts). Each part
// writes its own slice of the output, with its slice of the weights, the bias and the residual:
// a wrong offset shows as a result far from the one-thread run, which takes no parts.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "csg/models/resnet.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

namespace csg {
namespace {

struct ThreadsRun {
  Tensor logits;
  std::vector<std::string> kernels;
};

ThreadsRun run_on_threads(const infer::CompiledNetwork& net, const Tensor& x, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  infer::BufferPool pool;
  infer::OneDnnRunner runner;
  ThreadsRun r;
  pool.begin(x.shape());
  r.logits = runner.run(net, x, pool, /*bf16=*/false).clone();
  pool.begin(x.shape());  // a second run replays the cached parts
  const Tensor again = runner.run(net, x, pool, /*bf16=*/false);
  EXPECT_EQ(testing::relative_error(again, r.logits), 0.0) << "a second run on " << threads << " threads differs";
  r.kernels = runner.kernel_names();
  omp_set_num_threads(saved);
  return r;
}

bool any_contains(const std::vector<std::string>& names, const std::string& part) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

TEST(InferChannelParts, TwoThreadsMatchOneAtBatchOne) {
  if (!onednn::active()) GTEST_SKIP() << "this build has no oneDNN";
  std::printf("oneDNN dispatches to %s\n", onednn::isa_name().c_str());
  NoGradGuard ng;
  // ResNet-50 at width 16 on 64x64: 1x1 layers of 16 to 512 channels on maps of 16x16 down to 2x2,
  // with the residual and ReLU fused into the last of each block, and a stride-2 1x1 downsample.
  models::ResNetOptions o;
  o.depth = 50, o.width = 16, o.num_classes = 10, o.seed = 7;
  models::ResNet resnet(o);
  testing::randomise_batch_norm(resnet, 11);
  resnet.eval();
  const infer::CompiledNetwork net = infer::compile(resnet);
  const Tensor x = testing::random_input({1, 3, 64, 64}, 13);

  const ThreadsRun one = run_on_threads(net, x, 1), two = run_on_threads(net, x, 2);
  EXPECT_FALSE(any_contains(one.kernels, "by output channels")) << "one thread has nothing to share";
  // The parts sum each output in the order the whole kernel does: equal up to rounding.
  EXPECT_LE(testing::relative_error(two.logits, one.logits), 1e-5);
  // Where oneDNN picks its AVX2 or SSE4.1 1x1 kernel, the small maps take the parts.
  const bool pixel_split = any_contains(two.kernels, "jit_1x1:avx2") || any_contains(two.kernels, "jit_1x1:sse41");
  EXPECT_EQ(any_contains(two.kernels, "by output channels"), pixel_split) << "on " << onednn::isa_name();
  std::printf("1x1 convolutions by output channels: %s\n", pixel_split ? "taken" : "not on this instruction set");
}

// The same test with oneDNN capped at AVX2 in a child process, so that a machine with AVX-512
// checks the parts too.
TEST(InferChannelParts, TakenUnderAvx2OnEveryMachine) {
  if (!onednn::active()) GTEST_SKIP() << "this build has no oneDNN";
  const testing::ShellResult r =
      testing::run_self("ONEDNN_MAX_CPU_ISA=AVX2", "InferChannelParts.TwoThreadsMatchOneAtBatchOne");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(avx2)"), std::string::npos) << "the cap did not apply:\n" << r.output;
  EXPECT_NE(r.output.find("by output channels: taken"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace csg
