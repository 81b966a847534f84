// tests/test_train.cpp — the training pipeline end to end on tiny generated data sets in the
// published layouts (VisDA-17; GTA5 + Cityscapes): the loss goes down, checkpoints are written,
// --resume continues, and evaluation prints its table. Small models and images keep it fast.
#include <filesystem>
#include <fstream>

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
  c.arch = "resnet18";
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
  c.arch = "deeplab18";
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

TEST(TrainVisda, RegularizerBaselinesRunAndResumeExactly) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda_reg");
  data::write_tiny_visda(data, 2, 24, 12);
  for (const char* name : {"weight-l2", "feature-l2", "asg-kl"}) {
    train::Config c = tiny_visda(data, tmp.subdir(std::string("train_reg_") + name));
    c.csg = false;
    c.regularizer = name;
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
  both.regularizer = "weight-l2";
  EXPECT_THROW(train::run_training(both), Error);

  // Synaptic intelligence keeps its path integral in the checkpoint: a resume retraces the run.
  const std::string out = tmp.subdir("train_reg_si");
  train::Config c = tiny_visda(data, out);
  c.csg = false;
  c.regularizer = "synaptic-intelligence";
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
  wrong.regularizer = "weight-l2";
  try {
    train::run_training(wrong);
    FAIL() << "a resume with another regularizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("regularizer: synaptic-intelligence -> weight-l2"), std::string::npos)
        << e.what();
  }
}
