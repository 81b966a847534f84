// tests/test_backbone_runner.cpp — the no-grad passes of a training step on the compiled backbone
// (src/infer/backbone_runner.h): the same stage outputs as ResNet::forward_features, folded again
// exactly when the weights change, and used only where folding batch norm holds.
#include <gtest/gtest.h>

#include <array>

#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

namespace csg {
namespace {

using testing::max_abs_diff;
using testing::randomise_batch_norm;
using testing::random_input;
using testing::relative_error;

std::unique_ptr<models::ResNet> test_resnet(int depth, int64_t width, models::Stem stem) {
  models::ResNetOptions o;
  o.depth = depth;
  o.width = width;
  o.stem = stem;
  o.seed = 3;
  auto net = std::make_unique<models::ResNet>(o);
  randomise_batch_norm(*net, 4);
  net->eval();
  return net;
}

// Every wanted stage within `tol` of forward_features (relative to the stage's largest value), the
// others left undefined.
void expect_stages_match(infer::BackboneRunner& runner, const models::ResNet& net, const Tensor& x,
                         const std::array<bool, 4>& wanted, const std::string& what, double tol = 1e-5) {
  NoGradGuard ng;
  ASSERT_TRUE(infer::BackboneRunner::applies(net, x)) << what;
  const models::ResNetFeatures want = net.forward_features(x);
  const models::ResNetFeatures got = runner.features(net, x, wanted);
  for (int s = 0; s < 4; ++s) {
    if (!wanted[s]) {
      EXPECT_FALSE(got.layer[s].defined()) << what << ": stage " << s + 1 << " was not asked for";
      continue;
    }
    ASSERT_TRUE(got.layer[s].defined()) << what << ": stage " << s + 1;
    ASSERT_EQ(got.layer[s].shape(), want.layer[s].shape()) << what << ": stage " << s + 1;
    EXPECT_LE(relative_error(got.layer[s], want.layer[s]), tol)
        << what << ": stage " << s + 1 << ", max |diff| " << max_abs_diff(got.layer[s], want.layer[s]);
  }
}

TEST(BackboneRunner, StageOutputsMatchForwardFeatures) {
  if (!onednn::active()) GTEST_SKIP() << "the backbone runner needs oneDNN (this build or run has it off)";
  struct Case {
    int depth;
    int64_t width;
    models::Stem stem;
    Shape input;
  };
  for (const Case& c : {Case{18, 16, models::Stem::ImageNet, {2, 3, 64, 64}},
                        Case{50, 16, models::Stem::ImageNet, {2, 3, 64, 48}},
                        Case{18, 16, models::Stem::Small, {2, 3, 32, 32}},
                        Case{18, 16, models::Stem::Cifar, {3, 3, 16, 16}}}) {
    const std::string what = "resnet" + std::to_string(c.depth) + " (" + models::stem_name(c.stem) + " stem)";
    auto net = test_resnet(c.depth, c.width, c.stem);
    const Tensor x = random_input(c.input, 5);
    infer::BackboneRunner runner;
    expect_stages_match(runner, *net, x, {true, true, true, true}, what);
    expect_stages_match(runner, *net, x, {false, false, true, true}, what + ", layers 3 and 4");
    expect_stages_match(runner, *net, x, {false, true, false, false}, what + ", layer 2 only");
    EXPECT_EQ(runner.folds(), 1u) << what << ": the weights did not change";
  }
}

TEST(BackboneRunner, DilatedDeepLabBackboneMatches) {
  if (!onednn::active()) GTEST_SKIP() << "the backbone runner needs oneDNN (this build or run has it off)";
  auto deeplab = testing::test_deeplab(models::DeepLabHead::AsppV2);  // layer3 and layer4 dilated
  infer::BackboneRunner runner;
  expect_stages_match(runner, *deeplab, testing::test_deeplab_input(), {true, true, true, true}, "deeplab18");
}

TEST(BackboneRunner, FoldsAgainExactlyWhenTheWeightsChange) {
  if (!onednn::active()) GTEST_SKIP() << "the backbone runner needs oneDNN (this build or run has it off)";
  auto net = test_resnet(18, 16, models::Stem::ImageNet);
  const Tensor x = random_input({2, 3, 48, 48}, 6);
  const std::array<bool, 4> all{true, true, true, true};
  infer::BackboneRunner runner;
  expect_stages_match(runner, *net, x, all, "first call");
  expect_stages_match(runner, *net, x, all, "same weights");
  EXPECT_EQ(runner.folds(), 1u);
  {
    NoGradGuard ng;
    // A 3x3 layer on a 12x12 map (on Winograd, with its weights transformed again) and one on a 3x3 map.
    for (auto& block : {net->layers[0]->items()[0], net->layers[2]->items()[1]})
      for (const NamedTensor& p : block->named_parameters())
        if (p.name == "conv1.weight") Tensor(p.tensor).mul_(1.5);  // as an optimiser's step would
  }
  expect_stages_match(runner, *net, x, all, "after a weight changed");
  EXPECT_EQ(runner.folds(), 2u);
  {
    NoGradGuard ng;
    Tensor(net->bn1->running_mean).add_(full(net->bn1->running_mean.shape(), 0.25));  // a statistic
  }
  expect_stages_match(runner, *net, x, all, "after a running mean changed");
  expect_stages_match(runner, *net, x, all, "unchanged again");
  EXPECT_EQ(runner.folds(), 3u);
  // A runner made now computes exactly what the one that folded three times does: a resumed run
  // gives the uninterrupted run's numbers.
  NoGradGuard ng;
  infer::BackboneRunner fresh;
  const models::ResNetFeatures a = runner.features(*net, x, all), b = fresh.features(*net, x, all);
  for (int s = 0; s < 4; ++s) EXPECT_EQ(max_abs_diff(a.layer[s], b.layer[s]), 0.0) << "stage " << s + 1;
}

// A trained backbone runs here only where its stage outputs hold a tenth of its parameter count
// (it is folded again before every call); a frozen one always (compiled once).
TEST(BackboneRunner, PaysForATrainedBackboneOnlyOnLargeInputs) {
  auto net = test_resnet(18, 64, models::Stem::ImageNet);
  const Tensor small = random_input({8, 3, 64, 64}, 8), large = random_input({8, 3, 224, 224}, 8);
  EXPECT_FALSE(infer::BackboneRunner::pays(*net, small)) << "ResNet-18, 8 x 64 px: 0.25M outputs, 11M weights";
  EXPECT_TRUE(infer::BackboneRunner::pays(*net, large)) << "ResNet-18, 8 x 224 px: 3.0M outputs";
  net->freeze();
  EXPECT_TRUE(infer::BackboneRunner::pays(*net, small)) << "frozen: compiled once";
}

// BF16 convolutions: the passes run in BF16 too (the inference engine's NHWC BF16 path), within the
// engine's own BF16 tolerance of the f32 features, and not equal to them.
TEST(BackboneRunner, Bf16NetworkRunsItsPassesInBf16) {
  if (!onednn::active()) GTEST_SKIP() << "the backbone runner needs oneDNN (this build or run has it off)";
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  auto net = test_resnet(18, 16, models::Stem::ImageNet);
  const Tensor x = random_input({2, 3, 64, 64}, 9);
  NoGradGuard ng;
  const models::ResNetFeatures want = net->forward_features(x);
  ConvNumerics bf16;
  bf16.precision = ConvPrecision::Bf16;
  nn::set_conv_numerics(*net, bf16);
  ASSERT_TRUE(infer::BackboneRunner::applies(*net, x));
  infer::BackboneRunner runner;
  const models::ResNetFeatures got = runner.features(*net, x, {false, false, true, true});
  for (int s : {2, 3}) {
    const double err = relative_error(got.layer[s], want.layer[s]);
    EXPECT_LE(err, 3e-2) << "stage " << s + 1;
    EXPECT_GE(err, 1e-5) << "stage " << s + 1 << ": f32's values, the BF16 kernels did not run";
  }
}

TEST(BackboneRunner, RunsOnlyWhereFoldingBatchNormHolds) {
  if (!onednn::active()) GTEST_SKIP() << "the backbone runner needs oneDNN (this build or run has it off)";
  auto net = test_resnet(18, 16, models::Stem::ImageNet);
  const Tensor x = random_input({1, 3, 32, 32}, 7);
  EXPECT_FALSE(infer::BackboneRunner::applies(*net, x)) << "gradients are being recorded";
  NoGradGuard ng;
  EXPECT_TRUE(infer::BackboneRunner::applies(*net, x));
  EXPECT_FALSE(infer::BackboneRunner::applies(*net, x.to(DType::F64))) << "a double input";
  net->layers[1]->train(true);
  EXPECT_FALSE(infer::BackboneRunner::applies(*net, x)) << "layer2's batch norm on batch statistics";
  net->eval();
  infer::BackboneRunner runner;
  net->train(true);
  EXPECT_THROW(runner.features(*net, x, {true, true, true, true}), Error);
}

}  // namespace
}  // namespace csg
