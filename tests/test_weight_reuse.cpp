// tests/test_weight_reuse.cpp — the CSG step's converted weights (csg::ConvWeightsReuseScope,
// src/train/csg_step.cpp): the frozen encoder f_eo makes none (it runs on the compiled backbone), the trained
// encoder's are remade once a step, and nothing in a step writes a weight behind the engine's back
// (a write through a raw pointer, which the copies' samples would see).
#include "tests/testing.h"
#include "tools/bench/csg_step_bench.h"

using namespace csg;

#ifdef CSG_WITH_DNNL
TEST(WeightReuse, CsgStepKeepsTheFrozenEncodersCopies) {
  if (!onednn::active()) GTEST_SKIP() << "this csg was built without oneDNN (make DNNL=0)";
  std::string why;
  for (const bool bf16 : {false, true}) {
    if (bf16 && !onednn::has_bf16(&why)) continue;
    SCOPED_TRACE(bf16 ? "bf16" : "f32");
    bench::StepBenchOptions o = bench::parse_step_bench_args(
        {"--arch", "resnet18", "--image-size", "32", "--batch", "2", "--queue-size", "64", "--steps", "3"});
    o.precision = bf16 ? "bf16" : "fp32";
    bench::ThreadCount one_thread(1);
    bench::StepBench b(bench::step_bench_config(o), bench::step_bench_numerics(o));
    b.prepare(Device::CPU);
    const std::vector<train::StepInput> inputs = bench::synthetic_inputs(o, b.cfg.num_classes, Device::CPU, 3);
    int64_t trained = 0, frozen = 0;
    for (const NamedTensor& p : b.net.named_parameters())
      if (p.tensor.dim() == 4) ++(p.tensor.requires_grad() ? trained : frozen);
    ASSERT_GT(frozen, 0);
    const uint64_t unversioned = onednn::weight_cache_unversioned_writes();
    std::vector<uint64_t> reorders;
    for (const train::StepInput& in : inputs) {
      const uint64_t before = onednn::weight_cache_reorders();
      b.step(in);
      reorders.push_back(onednn::weight_cache_reorders() - before);
    }
    // Each trained weight: at most a forward layout and a BF16 plain copy, remade every step.
    EXPECT_LE(reorders[1], static_cast<uint64_t>(2 * trained));
    // The frozen encoder runs on the compiled backbone (BackboneRunner), which keeps its own copies.
    EXPECT_LE(reorders[0], static_cast<uint64_t>(2 * trained)) << "the frozen encoder went through conv2d";
    EXPECT_EQ(reorders[2], reorders[1]);
    EXPECT_EQ(onednn::weight_cache_unversioned_writes(), unversioned) << "a weight was written through a raw pointer";
  }
}
#endif
