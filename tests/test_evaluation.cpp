// tests/test_evaluation.cpp — VisDA's test-time flip (src/train/flip_tta.h) against hand-computed
// scores, and the best-checkpoint rule of --eval-every (src/train/best_checkpoint.h).
#include <cmath>
#include <filesystem>

#include "csg/io/checkpoint.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

// A stub network whose logits see left/right asymmetry: for each image, with L and R the sums
// of the left and right halves of the width, logits = [3 (L - R), 1].
Tensor asymmetric_logits(const Tensor& x) {
  const std::vector<double> v = x.to_vector();
  const int64_t n = x.size(0), w = x.size(3), per_image = v.size() / n;
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i) {
    double d = 0;
    for (int64_t k = 0; k < per_image; ++k) d += (k % w < w / 2 ? 1.0 : -1.0) * v[i * per_image + k];
    out.push_back(static_cast<float>(3 * d));
    out.push_back(1.0f);
  }
  return from_vector(out, {n, 2});
}

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

}  // namespace

TEST(FlipTta, FlipWidthMirrorsTheLastAxis) {
  Tensor x = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 1, 2, 3});
  csg::testing::expect_values_near(train::flip_width(x), {2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9}, 0);
}

TEST(FlipTta, AveragesSigmoidsOfBothViewsAndChangesTheArgmax) {
  // Image 0: left half 1, right half 0 -> f(x) = [3, 1], f(flip x) = [-3, 1].
  // Image 1: both halves 1 -> f(x) = f(flip x) = [0, 1].
  Tensor x = from_vector(std::vector<float>{1, 0, 1, 1}, {2, 1, 1, 2});
  Tensor single = train::flip_tta_scores(asymmetric_logits, x, /*flip=*/false);
  Tensor tta = train::flip_tta_scores(asymmetric_logits, x, /*flip=*/true);
  // One view: sigmoid(3) = 0.9526 > sigmoid(1) = 0.7311 -> class 0.
  csg::testing::expect_values_near(single, {sigmoid(3), sigmoid(1), sigmoid(0), sigmoid(1)}, 1e-6);
  // Flip-averaged: (sigmoid(3) + sigmoid(-3)) / 2 = 0.5 exactly < 0.7311 -> class 1.
  csg::testing::expect_values_near(tta, {0.5, sigmoid(1), 0.5, sigmoid(1)}, 1e-6);
  EXPECT_EQ(argmax(single, 1).to_vector()[0], 0);
  EXPECT_EQ(argmax(tta, 1).to_vector()[0], 1);
  EXPECT_EQ(argmax(tta, 1).to_vector()[1], 1);
}

namespace {

// A stand-in training checkpoint: the step as a tensor, the best record in the metadata.
Checkpoint state_at(int64_t step, const train::BestCheckpoint& best) {
  Checkpoint c;
  c.tensors.push_back({"step", from_vector(std::vector<float>{static_cast<float>(step)}, {1})});
  best.add_to(c.meta);
  return c;
}

double step_in(const std::string& path) { return load_checkpoint(path).tensor("step").to_vector()[0]; }

}  // namespace

TEST(BestCheckpoint, MetricUpThenDownKeepsTheEarlierBest) {
  csg::testing::TempDir tmp;
  train::BestCheckpoint best(tmp / "best.ckpt");
  auto offer = [&](double metric, int64_t step) { return best.offer(metric, step, [&] { return state_at(step, best); }); };
  EXPECT_TRUE(offer(10, 100));
  EXPECT_TRUE(offer(30, 200));
  EXPECT_FALSE(offer(20, 300)) << "a worse metric replaced the best checkpoint";
  EXPECT_FALSE(offer(30, 400)) << "a tie replaced the earlier best";
  EXPECT_EQ(step_in(tmp / "best.ckpt"), 200);
  EXPECT_EQ(best.best().step, 200);
  EXPECT_EQ(best.best().metric, 30);
  const auto meta = load_checkpoint_meta(tmp / "best.ckpt");
  EXPECT_EQ(meta.at("best.metric"), "30");
  EXPECT_EQ(meta.at("best.step"), "200");
}

TEST(BestCheckpoint, ResumeRestoresTheRecordAndAWorseMetricDoesNotOverwrite) {
  csg::testing::TempDir tmp;
  std::map<std::string, std::string> checkpoint_meta;
  {
    train::BestCheckpoint first(tmp / "best.ckpt");
    first.offer(40, 200, [&] { return state_at(200, first); });
    first.add_to(checkpoint_meta);  // what csg-<step>.ckpt records
  }
  train::BestCheckpoint resumed(tmp / "best.ckpt");
  resumed.restore({});  // metadata of an older csg: nothing to restore
  EXPECT_EQ(resumed.best().step, -1);
  resumed.restore(checkpoint_meta);
  EXPECT_EQ(resumed.best().metric, 40);
  EXPECT_FALSE(resumed.offer(35, 300, [&] { return state_at(300, resumed); }));
  EXPECT_EQ(step_in(tmp / "best.ckpt"), 200);
  EXPECT_TRUE(resumed.offer(45, 400, [&] { return state_at(400, resumed); }));
  EXPECT_EQ(step_in(tmp / "best.ckpt"), 400);
  // A worse record (an older checkpoint's) does not lower the one held.
  resumed.restore(checkpoint_meta);
  EXPECT_EQ(resumed.best().metric, 45);
}
