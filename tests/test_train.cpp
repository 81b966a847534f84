// tests/test_train.cpp — the training pipeline end to end on tiny generated data sets in the
// published layouts (VisDA-17; GTA5 + Cityscapes): the loss goes down, checkpoints are written,
// --resume continues, and evaluation prints its table. Small models and images keep it fast.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "csg/cuda.h"
#include "csg/data/tiny.h"
#include "csg/io/checkpoint.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

train::Config tiny_visda(const std::string& data, const std::string& out) {
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.out_dir = out;
  c.arch = train::Arch::ResNet18;
  // A quarter of torchvision's width (layer1 16 planes): the pipeline is the same and a step
  // costs a tenth (this test dominated the suite, most of all under the sanitizers).
  c.width = 16;
  c.image_size = 32;
  c.batch_size = 16;
  c.queue_size = 256;
  c.embed_dim = 16;
  c.lr = 0.2;  // a randomly initialised net, few steps: a far larger LR than the reference's 1e-4
  c.warmup = 0;
  c.max_steps = 24;
  c.workers = 2;
  c.log_every = 4;
  c.checkpoint_every = 12;
  c.quiet = true;
  return c;
}

}  // namespace

TEST(TrainVisda, LossGoesDownCheckpointsAndResume) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda");
  data::write_tiny_visda(data, 0, 48, 24);
  const std::string out = tmp.subdir("train_visda");
  train::Config c = tiny_visda(data, out);
  train::TrainSummary s = train::run_training(c);
  EXPECT_EQ(s.steps, 24);
  // The task loss falls. (The InfoNCE terms first rise: the queue starts as random unit
  // vectors, easy negatives, and fills with real keys over the first steps.)
  EXPECT_LT(s.last_task_loss, s.first_task_loss) << "the task loss did not go down";
  EXPECT_TRUE(fs::exists(out + "/csg-12.ckpt"));
  EXPECT_TRUE(fs::exists(out + "/csg-24.ckpt"));
  EXPECT_TRUE(fs::exists(out + "/log.csv"));
  EXPECT_GE(s.metric, 0.0);
  EXPECT_LE(s.metric, 100.0);

  // Resume from step 12 into another directory: it must reach step 24 with the same weights.
  const std::string out2 = tmp.subdir("train_visda_resume");
  train::Config r = c;
  r.out_dir = out2;
  r.resume = out + "/csg-12.ckpt";
  r.eval_at_end = false;
  train::TrainSummary s2 = train::run_training(r);
  EXPECT_EQ(s2.steps, 24);
  Checkpoint a = load_checkpoint(out + "/csg-24.ckpt"), b = load_checkpoint(out2 + "/csg-24.ckpt");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    worst = std::max(worst, csg::testing::max_abs_diff(a.tensors[i].tensor, b.tensors[i].tensor));
  }
  EXPECT_LE(worst, 1e-5) << "a resumed run should retrace the uninterrupted one";

  // Evaluation of the checkpoint prints the per-class table.
  ::testing::internal::CaptureStdout();
  double m = train::run_evaluation(c, out + "/csg-24.ckpt");
  std::string table = ::testing::internal::GetCapturedStdout();
  EXPECT_NEAR(m, s.metric, 1e-9);
  EXPECT_NE(table.find("aeroplane"), std::string::npos) << table;
  EXPECT_NE(table.find("truck"), std::string::npos) << table;

  // Resuming with other settings is refused with the reason.
  train::Config wrong = r;
  wrong.out_dir = tmp.subdir("train_visda_wrong");
  wrong.layers = {4};
  try {
    train::run_training(wrong);
    FAIL() << "a resume with other layers was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers: 3,4 -> 4"), std::string::npos) << e.what();
  }
}

// --precision bf16 keeps f32 master weights: after SGD steps whose updates are far below BF16's
// resolution for most weights (lr 1e-3), the checkpoint's weights still carry them: almost every
// weight has non-zero low 16 bits (a weight stored in BF16 has none), the run moved away from the
// f32 run's weights by far less than the f32 run moved, and its losses track the f32 run's.
TEST(TrainVisda, Bf16KeepsF32MasterWeights) {
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda");
  data::write_tiny_visda(data, 0, 48, 24);
  auto config = [&](const std::string& precision, int64_t steps) {
    train::Config c = tiny_visda(data, tmp.subdir(precision + std::to_string(steps)));
    c.precision = train::parse_precision(precision);
    c.lr = 1e-3;
    c.max_steps = steps;
    c.checkpoint_every = steps;
    c.eval_at_end = false;
    return c;
  };
  const train::TrainSummary f32 = train::run_training(config("fp32", 8));
  const train::TrainSummary bf16 = train::run_training(config("bf16", 8));
  train::run_training(config("fp32", 1));  // the weights after one step: near the start
  EXPECT_NEAR(bf16.last_loss, f32.last_loss, 2e-2 * std::fabs(f32.last_loss));
  const Checkpoint a = load_checkpoint(f32.final_checkpoint), b = load_checkpoint(bf16.final_checkpoint);
  const Checkpoint start = load_checkpoint(tmp / "fp321/csg-1.ckpt");
  int64_t weights = 0, bf16_representable = 0;
  double moved = 0, apart = 0;
  for (const NamedTensor& t : b.tensors) {
    if (t.name.rfind("net.encoder_q.", 0) != 0 || t.name.find("conv") == std::string::npos) continue;
    const Tensor& bt = t.tensor;
    const float* p = bt.data<float>();
    for (int64_t i = 0; i < bt.numel(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, p + i, 4);
      ++weights;
      bf16_representable += (bits & 0xffffu) == 0;
    }
    moved = std::max(moved, csg::testing::max_abs_diff(a.tensor(t.name), start.tensor(t.name)));
    apart = std::max(apart, csg::testing::max_abs_diff(bt, a.tensor(t.name)));
  }
  ASSERT_GT(weights, 1000);
  EXPECT_LT(bf16_representable, weights / 100) << "the weights are BF16 values: master weights kept in BF16";
  EXPECT_GT(apart, 0.0) << "bf16 and fp32 runs gave the same weights: the BF16 kernels did not run";
  EXPECT_LT(apart, 0.2 * moved) << "the bf16 run's weights are far from the fp32 run's";
}

// --precision bf16 --device cuda where no GPU can be used: the error names the device's state
// (and no longer says that bf16 is CPU-only). On a GPU, tests/test_cuda_training.cpp trains.
TEST(TrainVisda, Bf16OnCudaWithoutAGpuIsAClearError) {
  if (cuda::available()) GTEST_SKIP() << "a GPU is here: " << cuda::status();
  csg::testing::TempDir tmp;
  train::Config c = tiny_visda(tmp.subdir("tiny_visda_missing"), tmp.subdir("bf16_cuda"));
  c.device = "cuda";
  c.precision = train::Precision::Bf16;
  try {
    train::run_training(c);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(cuda::status()), std::string::npos) << msg;
    EXPECT_EQ(msg.find("runs on the CPU"), std::string::npos) << msg;
  }
}

TEST(TrainVisda, BaselineAndAblationSwitchesRun) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda_ablate");
  data::write_tiny_visda(data, 1, 24, 12);
  for (int variant = 0; variant < 3; ++variant) {
    train::Config c = tiny_visda(data, tmp.subdir("train_ablate"));
    c.max_steps = 2;
    c.eval_at_end = false;
    if (variant == 0) c.csg = false;                  // vanilla baseline
    if (variant == 1) { c.apool = false; c.layers = {2, 3, 4}; }  // GAP, three layer groups
    if (variant == 2) { c.augment = false; c.layers = {4}; }
    EXPECT_EQ(train::run_training(c).steps, 2) << "variant " << variant;
  }
}

TEST(TrainVisda, BadDataGivesClearErrors) {
  csg::testing::TempDir tmp;
  train::Config c = tiny_visda("/nonexistent/visda", tmp.subdir("train_bad"));
  try {
    train::run_training(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/visda"), std::string::npos) << e.what();
  }
}

TEST(TrainGta5, DenseCsgRunsAndEvaluatesMiou) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_gta5");
  data::write_tiny_gta5_cityscapes(data, 0, 6, 2);
  train::Config c = train::default_config(train::Task::Gta5);
  c.data = data + "/gta5";
  c.val_data = data + "/cityscapes";
  c.out_dir = tmp.subdir("train_gta5");
  c.arch = train::Arch::DeepLab18;
  c.crop = 64;
  c.batch_size = 2;
  c.queue_size = 256;
  c.embed_dim = 16;
  c.chunks = 8;  // 64x64 crop -> 8x8 maps -> 64 patches of 1x1
  c.lr = 0.01;
  c.warmup = 0;
  c.max_steps = 4;
  c.iters_per_epoch = 2;
  c.workers = 2;
  c.log_every = 1;
  c.checkpoint_every = 4;
  c.quiet = true;
  ::testing::internal::CaptureStdout();
  train::TrainSummary s = train::run_training(c);
  std::string table = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(s.steps, 4);
  EXPECT_LT(s.last_task_loss, s.first_task_loss) << "the pixel-wise task loss did not go down";
  EXPECT_TRUE(fs::exists(c.out_dir + "/csg-4.ckpt"));
  EXPECT_GE(s.metric, 0.0);
  EXPECT_NE(table.find("road"), std::string::npos) << table;
}

TEST(TrainVisda, EvaluationWithNoReadableImageIsAnErrorNotZeroPercent) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda_broken");
  data::write_tiny_visda(data, 2, 12, 6);
  for (const auto& e : fs::recursive_directory_iterator(data + "/validation"))
    if (e.path().extension() == ".jpg") std::ofstream(e.path()) << "not a jpeg";
  train::Config c = tiny_visda(data, tmp.subdir("eval_broken"));
  ::testing::internal::CaptureStderr();
  try {
    train::run_evaluation(c, "");
    ::testing::internal::GetCapturedStderr();
    FAIL() << "a table over zero images was reported";
  } catch (const Error& e) {
    ::testing::internal::GetCapturedStderr();
    EXPECT_NE(std::string(e.what()).find("none of the 6 target images"), std::string::npos) << e.what();
  }
}

TEST(TrainVisda, EvalEveryKeepsTheBestCheckpointAcrossPruningAndResume) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda_best");
  data::write_tiny_visda(data, 3, 48, 24);
  const std::string out = tmp.subdir("train_best");
  train::Config c = tiny_visda(data, out);
  c.max_steps = 0;
  c.epochs = 3;  // 48 images / batch 16: 3 steps per epoch
  c.eval_every = 1;
  c.checkpoint_every = 3;
  c.keep_checkpoints = 3;
  ::testing::internal::CaptureStdout();
  train::TrainSummary s = train::run_training(c);
  ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(s.evaluations.size(), 3u) << "one evaluation per epoch, the last one reused at the end";
  EXPECT_EQ(s.evaluations[0].first, 3);
  EXPECT_EQ(s.evaluations[2].first, 9);
  EXPECT_EQ(s.metric, s.evaluations.back().second) << "the last weights' figure is reported";
  // The best: the highest metric, the earliest on ties.
  std::pair<int64_t, double> want = s.evaluations[0];
  for (const auto& e : s.evaluations)
    if (e.second > want.second) want = e;
  EXPECT_EQ(s.best_step, want.first);
  EXPECT_EQ(s.best_metric, want.second);
  ASSERT_TRUE(fs::exists(out + "/best.ckpt"));
  auto meta = load_checkpoint_meta(out + "/best.ckpt");
  EXPECT_EQ(meta.at("step"), std::to_string(want.first));
  EXPECT_EQ(meta.at("best.step"), std::to_string(want.first));
  // Every checkpoint carries the record; pruning never deletes best.ckpt.
  EXPECT_EQ(load_checkpoint_meta(out + "/csg-9.ckpt").at("best.step"), std::to_string(want.first));
  train::Config pruned = c;
  pruned.out_dir = tmp.subdir("train_best_pruned");
  pruned.keep_checkpoints = 1;
  pruned.epochs = 2;
  ::testing::internal::CaptureStdout();
  train::TrainSummary p = train::run_training(pruned);
  ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(fs::exists(pruned.out_dir + "/best.ckpt"));
  EXPECT_FALSE(fs::exists(pruned.out_dir + "/csg-3.ckpt"));
  EXPECT_EQ(p.best_metric, std::max(s.evaluations[0].second, s.evaluations[1].second));

  // Resume from step 3 of a run whose record holds a better best than any later epoch reaches:
  // the resumed run keeps that record and writes no best.ckpt of its own.
  Checkpoint doctored = load_checkpoint(out + "/csg-3.ckpt");
  doctored.meta["best.metric"] = "1000";
  doctored.meta["best.step"] = "3";
  doctored.meta["best.path"] = out + "/best.ckpt";
  const std::string doctored_path = tmp.subdir("doctored") + "/csg-3.ckpt";
  save_checkpoint(doctored_path, doctored);
  train::Config r = c;
  r.out_dir = tmp.subdir("train_best_resumed");
  r.resume = doctored_path;
  ::testing::internal::CaptureStdout();
  train::TrainSummary rs = train::run_training(r);
  ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rs.steps, 9);
  EXPECT_EQ(rs.best_metric, 1000);
  EXPECT_EQ(rs.best_step, 3);
  EXPECT_EQ(rs.best_checkpoint, out + "/best.ckpt");
  EXPECT_FALSE(fs::exists(r.out_dir + "/best.ckpt")) << "a worse metric replaced the resumed run's best";
  EXPECT_EQ(load_checkpoint_meta(r.out_dir + "/csg-9.ckpt").at("best.metric"), "1000");
  // The resumed run retraces the original: the same figures at steps 6 and 9.
  ASSERT_EQ(rs.evaluations.size(), 2u);
  EXPECT_NEAR(rs.evaluations[1].second, s.evaluations[2].second, 1e-9);
}

TEST(TrainGta5, MissingTrainListIsAClearError) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_gta5_list");
  data::write_tiny_gta5_cityscapes(data, 0, 4, 1);
  train::Config c = train::default_config(train::Task::Gta5);
  c.data = data + "/gta5";
  c.val_data = data + "/cityscapes";
  c.out_dir = tmp.subdir("train_gta5_list");
  c.train_list = data + "/gta5_train.txt";
  c.quiet = true;
  try {
    train::run_training(c);
    FAIL() << "a missing --train-list was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(c.train_list + ": no such file"), std::string::npos) << e.what();
  }
}

TEST(TrainVisda, RegularizerBaselinesRunAndResumeExactly) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda_reg");
  data::write_tiny_visda(data, 2, 24, 12);
  for (const char* name : {"weight-l2", "feature-l2", "asg-kl"}) {
    train::Config c = tiny_visda(data, tmp.subdir(std::string("train_reg_") + name));
    c.csg = false;
    c.regularizer = method::parse_regularizer(name);
    c.max_steps = 2;
    c.log_every = 1;
    c.eval_at_end = false;
    train::TrainSummary s = train::run_training(c);
    EXPECT_EQ(s.steps, 2) << name;
    // The regularizer is in the loss: total > task from the second step on (f_e has moved).
    EXPECT_GT(s.last_loss, s.last_task_loss) << name;
    std::ifstream csv(c.out_dir + "/log.csv");
    std::string header;
    std::getline(csv, header);
    EXPECT_EQ(header.rfind("step,epoch,lr,loss,task,reg,", 0), 0u) << header;
  }
  // A regularizer trains without InfoNCE: with CSG on it is refused.
  train::Config both = tiny_visda(data, tmp.subdir("train_reg_both"));
  both.regularizer = method::Regularizer::WeightL2;
  EXPECT_THROW(train::run_training(both), Error);

  // Synaptic intelligence keeps its path integral in the checkpoint: a resume retraces the run.
  const std::string out = tmp.subdir("train_reg_si");
  train::Config c = tiny_visda(data, out);
  c.csg = false;
  c.regularizer = method::Regularizer::SynapticIntelligence;
  c.max_steps = 4;
  c.checkpoint_every = 2;
  c.eval_at_end = false;
  train::run_training(c);
  Checkpoint a = load_checkpoint(out + "/csg-4.ckpt");
  EXPECT_EQ(a.meta.at("config.regularizer"), "synaptic-intelligence");
  EXPECT_EQ(a.meta.at("config.reg-weight"), "0.1");  // the default, recorded
  bool has_omega = false;
  for (const NamedTensor& t : a.tensors) has_omega = has_omega || t.name.rfind("si_omega.", 0) == 0;
  EXPECT_TRUE(has_omega);
  train::Config r = c;
  r.out_dir = tmp.subdir("train_reg_si_resume");
  r.resume = out + "/csg-2.ckpt";
  train::run_training(r);
  Checkpoint b = load_checkpoint(r.out_dir + "/csg-4.ckpt");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    worst = std::max(worst, csg::testing::max_abs_diff(a.tensors[i].tensor, b.tensors[i].tensor));
  }
  EXPECT_LE(worst, 1e-5) << "a resumed synaptic-intelligence run should retrace the uninterrupted one";
  // Another regularizer (or weight) on resume is refused.
  train::Config wrong = r;
  wrong.out_dir = tmp.subdir("train_reg_si_wrong");
  wrong.regularizer = method::Regularizer::WeightL2;
  try {
    train::run_training(wrong);
    FAIL() << "a resume with another regularizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("regularizer: synaptic-intelligence -> weight-l2"), std::string::npos)
        << e.what();
  }
}
