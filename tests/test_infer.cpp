// tests/test_infer.cpp — the inference engine against the training-time networks (batch norm
// folded, ReLU and residual fused, buffers reused), model files and export round trips.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "csg/alloc_stats.h"
#include "csg/infer.h"
#include "csg/io/safetensors.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "csg/nn_init.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

namespace csg {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::randomise_batch_norm;
using testing::random_input;
using testing::relative_error;
using testing::resnet_info;
using testing::test_deeplab;
using testing::test_deeplab_info;
using testing::test_deeplab_input;
using testing::weights_of;

// Each engine test runs twice: on oneDNN (the default where built; its post-ops fuse bias,
// residual and ReLU) and on the im2col + OpenBLAS path (the fallback, conv2d_cpu::forward_fused).
std::vector<bool> conv_paths() {
  return onednn::active() ? std::vector<bool>{false, true} : std::vector<bool>{true};
}
const char* path_name(bool plain) { return plain ? "im2col + OpenBLAS" : "oneDNN"; }

void expect_engine_matches_resnet(int depth, int64_t width, const Shape& input,
                                  models::Stem stem = models::Stem::ImageNet) {
  for (bool plain : conv_paths()) {
    std::optional<onednn::PlainPathGuard> guard;
    if (plain) guard.emplace();
    models::ResNetOptions o;
    o.depth = depth;
    o.width = width;
    o.stem = stem;
    o.num_classes = 10;
    o.seed = 3;
    models::ResNet net(o);
    randomise_batch_norm(net, 4);
    net.eval();
    const Tensor x = random_input(input, 5);
    Tensor want;
    {
      NoGradGuard ng;
      want = net.forward(x);
    }
    infer::ModelInfo info = resnet_info(depth, width, 10);
    info.stem = models::stem_name(stem);
    infer::Engine engine(net, weights_of(net, info).info);
    const Tensor got = engine.run(x).clone();
    EXPECT_LE(relative_error(got, want), 1e-5) << "resnet" << depth << " (" << info.stem << " stem) on "
                                              << path_name(plain) << ": max |diff| " << max_abs_diff(got, want);
  }
}

TEST(InferEngine, ResNet18MatchesTrainingNetwork) { expect_engine_matches_resnet(18, 16, {2, 3, 64, 64}); }

TEST(InferEngine, ResNet50MatchesTrainingNetwork) { expect_engine_matches_resnet(50, 64, {2, 3, 64, 48}); }

// The small-image stems (a 3x3 stride-1 conv1, with and without the max pool) compile too.
TEST(InferEngine, SmallImageStemsMatchTrainingNetwork) {
  expect_engine_matches_resnet(18, 8, {2, 3, 32, 32}, models::Stem::Small);
  expect_engine_matches_resnet(18, 8, {2, 3, 32, 32}, models::Stem::Cifar);
}

void expect_engine_matches_deeplab(models::DeepLabHead head, const Tensor& x = test_deeplab_input()) {
  for (bool plain : conv_paths()) {
    std::optional<onednn::PlainPathGuard> guard;
    if (plain) guard.emplace();
    const std::unique_ptr<models::DeepLab> net = test_deeplab(head);
    Tensor want;
    {
      NoGradGuard ng;
      want = net->forward(x);
    }
    infer::Engine engine(*net, weights_of(*net, test_deeplab_info(head)).info);
    const Tensor got = engine.run(x).clone();
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_LE(relative_error(got, want), 1e-5) << path_name(plain) << ": max |diff| " << max_abs_diff(got, want);
  }
}

TEST(InferEngine, DeepLabAsppCsgMatchesTrainingNetwork) { expect_engine_matches_deeplab(models::DeepLabHead::AsppCsg); }
TEST(InferEngine, DeepLabAsppV2MatchesTrainingNetwork) { expect_engine_matches_deeplab(models::DeepLabHead::AsppV2); }
// At 200x208 layer 3's map is 25x26, so its dilation-2 convolutions run over 13x13 phases on oneDNN
// (src/ops/onednn/dilated_as_batches.h).
TEST(InferEngine, DeepLabWithDilatedLayersOverTheirPhasesMatchesTrainingNetwork) {
  expect_engine_matches_deeplab(models::DeepLabHead::AsppV2, random_input({1, 3, 200, 208}, 10));
}

// BF16 convolutions (oneDNN, AVX512_BF16 / AMX) against the f32 engine on the same network: the
// rounding of inputs and weights to 8 significant bits leaves the logits within 3e-2 relative;
// and an f32 engine never takes the BF16 kernels (its error stays at the f32 level above).
TEST(InferEngine, Bf16LogitsStayCloseToF32) {
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  const std::unique_ptr<models::DeepLab> net = test_deeplab(models::DeepLabHead::AsppCsg);
  infer::Engine engine(*net, weights_of(*net, test_deeplab_info(models::DeepLabHead::AsppCsg)).info);
  const Tensor x = test_deeplab_input();
  const Tensor f32 = engine.run(x).clone();
  engine.set_precision(infer::Precision::BF16);
  const Tensor bf16 = engine.run(x).clone();
  const double err = relative_error(bf16, f32);
  EXPECT_LE(err, 3e-2);
  EXPECT_GE(err, 1e-5) << "the bf16 engine gave f32's logits: the BF16 kernels did not run";
  engine.set_precision(infer::Precision::F32);
  EXPECT_EQ(max_abs_diff(engine.run(x), f32), 0.0);
  {
    onednn::PlainPathGuard im2col;  // BF16 exists on oneDNN only: an error, not a silent f32 run
    EXPECT_THROW(engine.set_precision(infer::Precision::BF16), Error);
  }
}

// The oneDNN engine keeps activations in a oneDNN layout (nChw16c or nChw8c in f32, NHWC in bf16)
// between layers. A hand-made network whose channel counts are not multiples of 8 (20: padded
// blocks of 16 or 8; ASPP branches of 12 written at channel offsets 12, 24, 36: slices that split
// a block) and an odd input size, against the same layers composed from csg's ops on the im2col
// path.
infer::FusedConv random_conv(int64_t O, int64_t C, int64_t k, int64_t stride, int64_t dilation, bool relu,
                             Generator& gen) {
  infer::FusedConv f;
  f.weight = mul(randn({O, C, k, k}, gen), 1.0 / std::sqrt(double(C * k * k)));
  f.bias = mul(randn({O}, gen), 0.1);
  f.opt.stride_h = f.opt.stride_w = stride;
  f.opt.pad_h = f.opt.pad_w = dilation * (k / 2);
  f.opt.dilation_h = f.opt.dilation_w = dilation;
  f.relu = relu;
  return f;
}

TEST(InferEngine, OneDnnLayoutsWithPartialChannelBlocksMatchOps) {
  if (!onednn::active()) GTEST_SKIP() << "this build has no oneDNN";
  Generator gen(11);
  infer::CompiledNetwork net;
  net.stem = random_conv(16, 3, 3, 2, 1, true, gen);
  infer::FusedBlock block;
  block.convs = {random_conv(20, 16, 3, 1, 1, true, gen), random_conv(20, 20, 3, 1, 1, true, gen)};
  block.has_down = true;
  block.down = random_conv(20, 16, 1, 1, 1, false, gen);
  net.blocks = {block};
  net.backbone.stages[0].blocks = 1;  // layer1 holds it; stages 2-4 are empty
  for (int64_t d = 1; d <= 4; ++d) net.aspp.push_back(random_conv(12, 20, 3, 1, d, true, gen));
  net.aspp_pool = random_conv(12, 20, 1, 1, 1, true, gen);
  net.project = random_conv(16, 60, 1, 1, 1, true, gen);
  net.refine = random_conv(16, 16, 3, 1, 1, true, gen);
  net.seg_classifier = random_conv(5, 16, 1, 1, 1, false, gen);
  const Tensor x = random_input({2, 3, 37, 29}, 12);

  Tensor want;
  {
    onednn::PlainPathGuard im2col;
    NoGradGuard ng;
    auto conv = [](const infer::FusedConv& f, const Tensor& in, const Tensor& residual = Tensor()) {
      Tensor y = conv2d(in, f.weight, f.bias, f.opt);
      if (residual.defined()) y = add(y, residual);
      return f.relu ? relu(y) : y;
    };
    Pool2dOptions p;
    p.kernel_h = p.kernel_w = 3, p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
    const Tensor h0 = max_pool2d(conv(net.stem, x), p);
    const Tensor h = conv(block.convs[1], conv(block.convs[0], h0), conv(block.down, h0));
    std::vector<Tensor> parts;
    for (const infer::FusedConv& f : net.aspp) parts.push_back(conv(f, h));
    const Tensor pooled = conv(net.aspp_pool, adaptive_avg_pool2d(h, 1, 1));
    parts.push_back(pooled.expand({h.size(0), 12, h.size(2), h.size(3)}).contiguous());
    const Tensor low = conv(net.seg_classifier, conv(net.refine, conv(net.project, cat(parts, 1))));
    want = upsample_bilinear2d(low, x.size(2), x.size(3), true);
  }
  infer::BufferPool pool;
  infer::OneDnnRunner runner;
  pool.begin(x.shape());
  const Tensor got = runner.run(net, x, pool, /*bf16=*/false).clone();
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_LE(relative_error(got, want), 1e-5) << "max |diff| " << max_abs_diff(got, want);

  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << "bf16 half: " << why;
  pool.begin(x.shape());
  const double err = relative_error(runner.run(net, x, pool, /*bf16=*/true), want);
  EXPECT_LE(err, 3e-2);
  EXPECT_GE(err, 1e-5) << "bf16 gave f32's logits: the BF16 kernels did not run";
}

TEST(InferEngine, FoldedConvEqualsConvThenBatchNorm) {
  Generator gen(1);
  nn::Conv2d conv(3, 4, 3, 1, 1, 1, true, gen);
  nn::BatchNorm2d bn(4);
  {
    NoGradGuard ng;
    bn.weight.fill_(2.0), bn.bias.fill_(1.0), bn.running_mean.fill_(0.5), bn.running_var.fill_(3.0);
  }
  bn.eval();
  const Tensor x = random_input({1, 3, 5, 5}, 2);
  NoGradGuard ng;
  const Tensor want = bn.forward(conv.forward(x));
  const infer::FusedConv f = infer::fold(conv, &bn, /*relu=*/false);
  // By hand: w * 2/sqrt(3 + eps), (b - 0.5) * 2/sqrt(3 + eps) + 1.
  const double s = 2.0 / std::sqrt(3.0 + 1e-5);
  EXPECT_LE(max_abs_diff(f.weight, mul(conv.weight, s)), 1e-6);
  EXPECT_LE(max_abs_diff(f.bias, add(mul(sub(conv.bias, full({4}, 0.5)), s), 1.0)), 1e-6);
  EXPECT_LE(relative_error(conv2d(x, f.weight, f.bias, f.opt), want), 1e-6);
}

TEST(InferEngine, WarmRunsAllocateNoTensorStorage) {
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 4;
  models::ResNet net(o);
  net.eval();
  infer::ModelInfo info = resnet_info(18, 8, 4);
  info.resize = 40, info.crop = 32;
  infer::Engine engine(net, weights_of(net, info).info);
  std::vector<image::Image> images(3);
  for (image::Image& im : images) {
    im.width = 48, im.height = 40;
    im.rgb.assign(48 * 40 * 3, 0);
    for (size_t i = 0; i < im.rgb.size(); ++i) im.rgb[i] = static_cast<uint8_t>(i * 7 + im.rgb.size());
  }
  const Tensor first = engine.run(engine.preprocess(images)).clone();
  const uint64_t pool_after_first = engine.buffer_allocations();
  const uint64_t storages_before = storage_allocations();
  for (int run = 0; run < 3; ++run) engine.run(engine.preprocess(images));
  EXPECT_EQ(storage_allocations(), storages_before) << "a warm run allocated tensor storage";
  EXPECT_EQ(engine.buffer_allocations(), pool_after_first);
  EXPECT_GT(pool_after_first, 3u);  // the counter counts: the first run did allocate
  // And the reused buffers give the same answer.
  EXPECT_EQ(max_abs_diff(engine.run(engine.preprocess(images)), first), 0.0);
}

TEST(InferEngine, PreprocessMatchesTorchvisionPipeline) {
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 3;
  models::ResNet net(o);
  net.eval();
  infer::ModelInfo info = resnet_info(18, 8, 3);
  info.resize = 36, info.crop = 32;
  infer::Engine engine(net, weights_of(net, info).info);
  image::Image im;
  im.width = 50, im.height = 45;
  for (int i = 0; i < 50 * 45 * 3; ++i) im.rgb.push_back(static_cast<uint8_t>((i * 31) % 251));
  const Tensor got = engine.preprocess({im}).clone();
  const Tensor want = image::to_tensor(image::center_crop(image::resize_shorter_side(im, 36), 32, 32)).unsqueeze(0);
  EXPECT_EQ(max_abs_diff(got, want), 0.0);
}

TEST(InferModelFile, ExportRoundTripGivesTheSameLogits) {
  testing::TempDir dir;
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 6, o.seed = 11;
  models::ResNet net(o);
  randomise_batch_norm(net, 12);
  net.eval();
  infer::ModelWeights m = weights_of(net, resnet_info(18, 8, 6));
  m.info.class_names = {"a", "b", "c", "d", "e", "f"};
  m.info.mean = {0.5f, 0.25f, 0.125f};
  infer::export_model(dir / "m.safetensors", m);
  const infer::ModelWeights back = infer::read_model(dir / "m.safetensors");
  EXPECT_EQ(back.info.arch, "resnet18");
  EXPECT_EQ(back.info.width, 8);
  EXPECT_EQ(back.info.class_names, m.info.class_names);
  EXPECT_EQ(back.info.mean, m.info.mean);
  const Tensor x = random_input({2, 3, 32, 32}, 13);
  infer::Engine a(m), b(back);
  EXPECT_EQ(max_abs_diff(a.run(x), b.run(x)), 0.0);
  EXPECT_THROW(infer::read_model(dir / "m.safetensors", "resnet50"), Error);
}

TEST(InferModelFile, StateDictIsRecognisedWithoutArch) {
  testing::TempDir dir;
  models::ResNetOptions o;
  o.depth = 34, o.width = 4, o.num_classes = 7;
  models::ResNet net(o);
  save_safetensors(dir / "r34.safetensors", net.state_dict());
  const infer::ModelWeights m = infer::read_model(dir / "r34.safetensors");
  EXPECT_EQ(m.info.arch, "resnet34");
  EXPECT_EQ(m.info.width, 4);
  EXPECT_EQ(m.info.num_classes, 7);
  EXPECT_EQ(m.info.head, "fc");
  EXPECT_EQ(m.info.crop, 224);
}

// A `csg train` checkpoint: the exported network must equal f_e + the classifier as training
// computes them (CsgNetwork::task_logits), and carry the run's settings.
TEST(InferModelFile, TrainingCheckpointExportsTaskNetwork) {
  testing::TempDir dir;
  train::Config cfg = train::default_config(train::Task::Visda);
  cfg.arch = train::Arch::ResNet18, cfg.width = 8, cfg.num_classes = 12, cfg.image_size = 32, cfg.queue_size = 64;
  cfg.out_dir = dir.str();
  train::CsgNetwork net(cfg);
  randomise_batch_norm(*net.encoder_q, 21);
  net.set_eval_modes();
  optim::SGD sgd({{"all", net.parameters(), 0.1}});
  const std::string ckpt = train::save_training_state(cfg, net, sgd, 5, "test-run");
  const infer::ModelWeights m = infer::read_model(ckpt);
  EXPECT_EQ(m.info.arch, "resnet18");
  EXPECT_EQ(m.info.head, "mlp");
  EXPECT_EQ(m.info.crop, 32);
  EXPECT_EQ(m.info.class_names[0], "aeroplane");
  infer::export_model(dir / "exported.safetensors", m);
  infer::Engine engine(infer::read_model(dir / "exported.safetensors"));
  const Tensor x = random_input({2, 3, 32, 32}, 22);
  models::ResNetFeatures features;
  Tensor want;
  {
    NoGradGuard ng;
    want = net.task_logits(x, &features);
  }
  EXPECT_LE(relative_error(engine.run(x), want), 1e-5);
}

// A digits model with the small stem: its checkpoint and its export name the stem, predict's
// engine runs it as training does; a plain state dict with a 3x3 conv1 cannot say which small
// stem it is and is refused with the fix.
TEST(InferModelFile, SmallStemCheckpointExportsAndPlainStateDictIsRefused) {
  testing::TempDir dir;
  train::Config cfg = train::default_config(train::Task::Visda);
  cfg.arch = train::Arch::ResNet18, cfg.width = 8, cfg.num_classes = 5, cfg.image_size = 32, cfg.queue_size = 64;
  cfg.stem = models::Stem::Small;
  cfg.out_dir = dir.str();
  train::CsgNetwork net(cfg);
  randomise_batch_norm(*net.encoder_q, 31);
  net.set_eval_modes();
  optim::SGD sgd({{"all", net.parameters(), 0.1}});
  const std::string ckpt = train::save_training_state(cfg, net, sgd, 5, "test-run");
  const infer::ModelWeights m = infer::read_model(ckpt);
  EXPECT_EQ(m.info.stem, "small");
  infer::export_model(dir / "exported.safetensors", m);
  const infer::ModelWeights back = infer::read_model(dir / "exported.safetensors");
  EXPECT_EQ(back.info.stem, "small");
  infer::Engine engine(back);
  const Tensor x = random_input({2, 3, 32, 32}, 32);
  models::ResNetFeatures features;
  Tensor want;
  {
    NoGradGuard ng;
    want = net.task_logits(x, &features);
  }
  EXPECT_LE(relative_error(engine.run(x), want), 1e-5);
  // The same weights as a plain state dict: conv1 is 3x3, with or without the max pool?
  models::ResNetOptions o;
  o.depth = 18, o.width = 4, o.num_classes = 5, o.stem = models::Stem::Cifar;
  models::ResNet plain(o);
  save_safetensors(dir / "plain.safetensors", plain.state_dict());
  try {
    infer::read_model(dir / "plain.safetensors");
    FAIL() << "a 3x3 conv1 state dict was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(dir / "plain.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("small-image stem"), std::string::npos) << msg;
    EXPECT_NE(msg.find("csg export"), std::string::npos) << msg;
  }
  // Metadata that contradicts the weights (a 3x3 conv1 said to be the ImageNet stem) is refused.
  infer::ModelWeights lying = m;
  lying.info.stem = "imagenet";
  infer::export_model(dir / "lying.safetensors", lying);
  infer::ModelWeights lying_back = infer::read_model(dir / "lying.safetensors");
  EXPECT_THROW(infer::build_network(lying_back), Error);
}

TEST(InferModelFile, ErrorsNameTheFile) {
  testing::TempDir dir;
  const std::string bad = dir / "not_a_model.safetensors";
  std::ofstream(bad) << "this is not a model";
  try {
    infer::read_model(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  // A state dict of a network that is not a ResNet.
  save_safetensors(dir / "other.safetensors", {{"encoder.weight", ones({2, 2})}});
  EXPECT_THROW(infer::read_model(dir / "other.safetensors"), Error);
}

TEST(InferModels, InitWeightsOffLeavesZerosAndIsFaster) {
  models::ResNetOptions o;
  o.depth = 50;
  o.init_weights = false;
  auto t0 = std::chrono::steady_clock::now();
  models::ResNet skipped(o);
  auto t1 = std::chrono::steady_clock::now();
  o.init_weights = true;
  models::ResNet drawn(o);
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(max_abs(skipped.conv1->weight), 0.0);
  EXPECT_EQ(max_abs(skipped.fc->weight), 0.0);
  EXPECT_GT(max_abs(drawn.conv1->weight), 0.0);
  EXPECT_TRUE(nn::init_enabled());  // the guard is scoped to the constructor
  std::printf("ResNet-50 construction: %.0f ms without initialisation, %.0f ms with\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count());
}

}  // namespace
}  // namespace csg
