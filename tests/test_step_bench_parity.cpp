// tests/test_step_bench_parity.cpp — our CSG training step against the PyTorch one of the
// step benchmark (tools/reference/csg_step_torch.py): from the same initial weights and queues,
// on the same input batches, a few steps of a small VisDA model (ResNet-18, 64x64) and of two
// small GTA5 models (dilated ResNet-18, 64x64, dense NCE 8x8, projection heads frozen as the
// reference): with DeepLabv2's head (aspp-v2) and with the default head (aspp-csg: the
// reference's ASPP, BN on batch statistics, dropout 0.5) must give the same losses every step
// and the same final weights and queues. Dropout parity: the PyTorch side draws csg's own
// counter-based mask (csg/random.h) from the fixture's dropout seed, and this test puts the
// default generator, which csg's dropout draws from, at (that seed, offset 0) before the steps. The fixtures are written by
// `make test` into build/fixtures/csg_step when python3-torch is installed.
//
// Tolerances (float32 on both sides, different summation orders):
//  * losses: |ours - torch| <= 1e-5 * max(1, |torch|) (observed ~1e-7 relative);
//  * every trained tensor: max|ours - torch| <= 1e-2 * max|torch - initial| + 1e-6 * max|torch|,
//    i.e. the steps' updates agree to 1% of their size (observed below 1e-3 of the update);
//  * queues: max|diff| <= 1e-5 (unit vectors).
#include <cmath>
#include <map>

#include "tests/testing.h"
#include "tools/bench/csg_step_bench.h"

using namespace csg;

namespace {

std::string fixture(const std::string& name) { return csg::testing::torch_fixture("csg_step/" + name); }

void check_step_parity(const std::string& task) {
  const std::string init = fixture(task + "_init.safetensors"), inputs = fixture(task + "_inputs.safetensors"),
                    result = fixture(task + "_result.safetensors");
  for (const std::string& f : {init, inputs, result}) CSG_REQUIRE_FIXTURE(f);

  std::map<std::string, std::string> meta;
  std::map<std::string, Tensor> ref;
  for (NamedTensor& t : load_safetensors(result, &meta)) ref[t.name] = t.tensor;
  if (meta.count("fixture_version") == 0 || meta.at("fixture_version") != "2")
    GTEST_SKIP() << result << " was made by an older tools/reference/csg_step_torch.py (fixture version "
                 << (meta.count("fixture_version") ? meta.at("fixture_version") : "1")
                 << ", this test reads 2); `make test` with python3-torch regenerates it";
  std::map<std::string, Tensor> initial;
  for (NamedTensor& t : load_safetensors(init)) initial[t.name] = t.tensor;

  // The configuration the fixture was made with, from its metadata.
  std::vector<std::string> args = {"--task", meta.at("task"), "--arch", meta.at("arch"), "--batch", meta.at("batch"),
                                   "--image-size", meta.at("image_size"), "--queue-size", meta.at("queue_size"),
                                   "--layers", meta.at("layers"), "--lr", meta.at("lr"), "--lambda",
                                   meta.at("lambda"), "--steps", meta.at("steps"), "--seg-head", meta.at("seg_head")};
  if (meta.at("train_seg_heads") == "true") args.push_back("--train-seg-heads");
  bench::StepBenchOptions o = bench::parse_step_bench_args(args);
  bench::ThreadCount one_thread(1);  // small models: one thread is as fast and does not fight other work
  bench::StepBench b(bench::step_bench_config(o));
  bench::load_initial_state(b.net, init);
  b.prepare(Device::CPU);
  std::vector<train::StepInput> batches = bench::load_inputs(inputs, Device::CPU);
  Generator& gen = default_generator();
  const uint64_t seed_before = gen.seed(), offset_before = gen.offset();
  gen.set_state(std::stoull(meta.at("dropout_seed")), 0);  // aspp-csg's dropout masks, as the fixture's
  ASSERT_GE(static_cast<int64_t>(batches.size()), o.steps);

  const std::vector<double> ref_total = ref.at("loss.total").to_vector(), ref_task = ref.at("loss.task").to_vector();
  double worst_loss = 0;
  for (int64_t s = 0; s < o.steps; ++s) {
    train::StepResult r = b.step(batches[s]);
    auto check = [&](const std::string& what, double ours, double theirs) {
      const double rel = std::fabs(ours - theirs) / std::max(1.0, std::fabs(theirs));
      worst_loss = std::max(worst_loss, rel);
      EXPECT_LE(rel, 1e-5) << task << " step " << s << " " << what << ": ours " << ours << ", PyTorch " << theirs;
    };
    check("total loss", r.total, ref_total[s]);
    check("task loss", r.task, ref_task[s]);
    for (auto& [l, v] : r.nce) check("NCE layer" + std::to_string(l), v, ref.at("loss.nce" + std::to_string(l)).to_vector()[s]);
  }

  double worst_update = 0;  // max over tensors of max|diff| / tolerance
  std::string worst_name;
  size_t compared = 0;
  for (const NamedTensor& t : b.net.state_dict()) {
    if (t.name.rfind("encoder_k.", 0) == 0) continue;  // frozen, not in the result
    const std::string key = "final.net." + t.name;
    ASSERT_TRUE(ref.count(key)) << key << " missing from " << result;
    const Tensor& theirs = ref[key];
    ASSERT_EQ(t.tensor.shape(), theirs.shape()) << key;
    if (t.tensor.dtype() == DType::I64) {
      EXPECT_EQ(csg::testing::max_abs_diff(t.tensor, theirs), 0) << key;
      continue;
    }
    const double diff = csg::testing::max_abs_diff(t.tensor, theirs);
    const double update = csg::testing::max_abs_diff(theirs, initial.at("net." + t.name));
    const double tol = 1e-2 * update + 1e-6 * csg::testing::max_abs(theirs);
    if (diff / tol > worst_update) {
      worst_update = diff / tol;
      worst_name = t.name;
    }
    EXPECT_LE(diff, tol) << task << " " << t.name << ": max|diff| " << diff << ", update " << update;
    ++compared;
  }
  for (auto& [l, q] : b.net.queues) {
    const std::string key = "final.queue." + std::to_string(l);
    EXPECT_LE(csg::testing::max_abs_diff(q->keys(), ref.at(key)), 1e-5) << key;
    EXPECT_EQ(std::to_string(q->pointer()), meta.at("queue_pointer." + std::to_string(l))) << key;
  }
  gen.set_state(seed_before, offset_before);
  std::printf("  %s: %lld steps, worst loss rel diff %.2e, %zu tensors, worst diff/tolerance %.2e (%s)\n", task.c_str(),
              static_cast<long long>(o.steps), worst_loss, compared, worst_update, worst_name.c_str());
}

}  // namespace

TEST(StepBenchParity, VisdaResNet18MatchesPyTorch) { check_step_parity("visda"); }
TEST(StepBenchParity, Gta5DeepLab18DenseNceMatchesPyTorch) { check_step_parity("gta5"); }
TEST(StepBenchParity, Gta5DefaultAsppHeadWithDropoutMatchesPyTorch) { check_step_parity("gta5_csg"); }
