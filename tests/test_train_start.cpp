// tests/test_train_start.cpp — what `csg train` does before and around its steps: every set-up check
// passes before the run folder is made (a failed start leaves nothing that blocks the retry, and a
// folder holding no checkpoint is not another run's), values no run can use are refused at once,
// VisDA honours --iters-per-epoch, a finished run is not "resumed", a checkpoint of the other task is
// named as such, labels that supervise no pixel stop the run, and temporary files of a writer killed
// mid-checkpoint are removed.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/image.h"
#include "csg/io/checkpoint.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;
using csg::testing::run_cli_captured;

namespace {

// The error a training run with `c` stops with ("" when it trains), its progress output kept quiet.
std::string error_of(const train::Config& c) {
  ::testing::internal::CaptureStderr();
  const std::string e = csg::testing::error_of([&] { train::run_training(c); });
  ::testing::internal::GetCapturedStderr();
  return e;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

int log_rows(const std::string& csv) {
  std::ifstream f(csv);
  int n = -1;  // the header
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

}  // namespace

// A start that fails at set-up leaves no folder; the corrected rerun into the same --out works.
TEST(TrainStart, EveryStartErrorComesBeforeTheRunFolder) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 1, 16, 4);
  const std::string out = tmp / "run";
  std::vector<train::Config> bad(5, csg::testing::tiny_visda_config(data, out));
  bad[0].data = tmp / "no-such-data";
  bad[1].weights = tmp / "missing.pth";
  bad[2].batch_size = 64;  // more than the 16 images
  bad[3].lr = std::nan("");
  bad[4].image_size = 100000;
  const std::vector<std::string> says = {"no-such-data", "missing.pth", "--batch-size 64 is more than the 16 training",
                                         "--lr nan: not a finite number", "--image-size 100000: must be 1 .. 16384"};
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string e = error_of(bad[i]);
    EXPECT_NE(e.find(says[i]), std::string::npos) << i << ": " << e;
    EXPECT_FALSE(fs::exists(out)) << i << ": a failed start left " << out;
  }
  train::Config good = csg::testing::tiny_visda_config(data, out);
  good.max_steps = 2;
  EXPECT_EQ(train::run_training(good).steps, 2);
}

// What an older csg's failed start left (config.json alone), or a run killed before its first
// checkpoint (config.json, log.csv, events), holds nothing to continue: the rerun takes the folder.
// One with a checkpoint still counts as another run's.
TEST(TrainStart, AFolderWithoutACheckpointIsNotAnotherRun) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 2, 16, 4);
  const std::string out = tmp.subdir("run");
  std::ofstream(out + "/config.json") << "{}\n";
  std::ofstream(out + "/log.csv") << "step,epoch\n1,0\n";
  train::Config c = csg::testing::tiny_visda_config(data, out);
  c.max_steps = 2;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(train::run_training(c).steps, 2);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("no checkpoint in this folder"), std::string::npos) << said;
  EXPECT_EQ(log_rows(out + "/log.csv"), 2) << "the old log's row was kept";
  // Now it holds csg-2.ckpt: a new run into it is refused, as before.
  EXPECT_NE(error_of(c).find("already holds files of another run"), std::string::npos);
}

// --iters-per-epoch on VisDA: epochs of that many steps (the schedule's length), drawn from the
// shuffled data set without replacement; config.json and the run agree.
TEST(TrainStart, VisdaHonoursItersPerEpoch) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 3, 16, 4);  // 2 batches of 8 per pass over the data
  train::Config c = csg::testing::tiny_visda_config(data, tmp / "run");
  c.epochs = 2;
  c.iters_per_epoch = 3;  // longer than a pass: a second permutation continues it
  EXPECT_EQ(train::run_training(c).steps, 6);
  std::ifstream csv(tmp / "run/log.csv");
  std::string line;
  std::getline(csv, line);
  std::vector<std::string> epochs;
  while (std::getline(csv, line)) epochs.push_back(line.substr(line.find(',') + 1, 1));
  EXPECT_EQ(epochs, (std::vector<std::string>{"0", "0", "0", "1", "1", "1"}));
}

// --resume of a run that reached its last step says so, and writes nothing.
TEST(TrainStart, ResumingAFinishedRunSaysItIsComplete) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 4, 16, 4);
  const std::string out = tmp / "run";
  train::Config c = csg::testing::tiny_visda_config(data, out);
  c.max_steps = 3;
  ASSERT_EQ(train::run_training(c).steps, 3);
  const std::vector<std::string> before = names_in(out);
  c.resume = "latest";
  const std::string e = error_of(c);
  EXPECT_NE(e.find("this run is already complete (step 3 of 3)"), std::string::npos) << e;
  EXPECT_NE(e.find("--allow-change"), std::string::npos) << e;
  EXPECT_EQ(names_in(out), before);
}

// A checkpoint of the other task is named for what it is, whichever command reads it.
TEST(TrainStart, ACheckpointOfTheOtherTaskIsNamed) {
  csg::testing::TempDir tmp;
  const std::string visda = tmp.subdir("visda"), seg = tmp.subdir("seg");
  data::write_tiny_visda(visda, 5, 16, 4);
  data::write_tiny_gta5_cityscapes(seg, 0, 4, 2);
  train::Config v = csg::testing::tiny_visda_config(visda, tmp / "v");
  v.max_steps = 1;
  ASSERT_EQ(train::run_training(v).steps, 1);
  const std::string vckpt = tmp / "v/csg-1.ckpt";
  train::Config g = csg::testing::tiny_gta5_config(seg, tmp / "g");
  g.max_steps = 1;
  ASSERT_EQ(train::run_training(g).steps, 1);
  const std::string gckpt = tmp / "g/csg-1.ckpt";

  const auto eval = run_cli_captured({"eval", "gta5", "--data", seg + "/cityscapes", "--checkpoint", vckpt, "--quiet"});
  EXPECT_EQ(eval.status, 1);
  EXPECT_NE(eval.err.find("is a VisDA checkpoint"), std::string::npos) << eval.err;
  EXPECT_EQ(eval.err.find("--arch"), std::string::npos) << "no --arch was given: " << eval.err;
  const auto hse = run_cli_captured({"hse", "--data", visda, "--checkpoint", gckpt});
  EXPECT_EQ(hse.status, 1);
  EXPECT_NE(hse.err.find("is a GTA5 checkpoint"), std::string::npos) << hse.err;
  g.resume = vckpt;
  g.out_dir = tmp / "g2";
  const std::string resumed = error_of(g);
  EXPECT_NE(resumed.find("is a VisDA checkpoint"), std::string::npos) << resumed;
  EXPECT_EQ(resumed.find("--allow-change"), std::string::npos) << resumed;
}

// Labels that leave every pixel ignored (250 maps to 255; RGB PNGs cannot be read and are replaced)
// train nothing: the run stops in its first steps and says why, instead of logging task loss 0.
TEST(TrainStart, SegmentationLabelsThatSuperviseNoPixelStopTheRun) {
  csg::testing::TempDir tmp;
  const std::string seg = tmp.subdir("seg");
  data::write_tiny_gta5_cityscapes(seg, 0, 6, 2);
  int k = 0;
  for (const auto& e : fs::directory_iterator(seg + "/gta5/labels")) {
    const image::Image im = image::load(seg + "/gta5/images/" + e.path().filename().string());
    if (k++ % 3 != 2) {  // two of three all 250, one of three RGB
      data::LabelMap none;
      none.width = im.width, none.height = im.height;
      none.values.assign(static_cast<size_t>(im.width) * im.height, 250);
      data::write_grey_png(e.path().string(), none);
    } else {
      image::save_png(e.path().string(), im);  // an RGB picture where a label map belongs
    }
  }
  train::Config g = csg::testing::tiny_gta5_config(seg, tmp / "run");
  g.max_steps = 3;  // the check spans the first 10 steps, or all of a shorter run
  const std::string e = error_of(g);
  EXPECT_NE(e.find("label maps of the first 3 steps is 255 (ignored), so the task loss supervises nothing"),
            std::string::npos) << e;
  EXPECT_LE(log_rows(tmp / "run/log.csv"), 2);
}

// kill -9 while a checkpoint is written leaves "<ckpt>.tmp.<pid>.<n>"; resuming the run (or its
// next checkpoint's pruning) removes those of processes that no longer run, and nothing else.
TEST(TrainStart, ResumeRemovesTemporaryFilesOfADeadWriter) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 6, 16, 4);
  const std::string out = tmp / "run";
  train::Config c = csg::testing::tiny_visda_config(data, out);
  c.max_steps = 2;
  c.checkpoint_every = 1;
  ASSERT_EQ(train::run_training(c).steps, 2);
  const pid_t dead = fork();  // a process id that has run and ended
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale = out + "/csg-3.ckpt.tmp." + std::to_string(dead) + ".0";
  const std::string live = out + "/csg-3.ckpt.tmp." + std::to_string(getpid()) + ".7";
  std::ofstream(stale) << "partial";
  std::ofstream(live) << "being written";
  c.resume = "latest";
  c.max_steps = 4;
  c.allow_change = {"max-steps"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(train::run_training(c).steps, 4);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(fs::exists(stale)) << said;
  EXPECT_TRUE(fs::exists(live)) << "a live process's temporary file was removed";
  EXPECT_NE(said.find("left by a process that died while writing it"), std::string::npos) << said;
  // Pruning removes them too.
  std::ofstream(stale) << "partial";
  prune_checkpoints(out, "csg", 3, "no-such-run");
  EXPECT_FALSE(fs::exists(stale));
}
