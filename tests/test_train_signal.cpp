// tests/test_train_signal.cpp — a run stopped by SIGTERM part-way writes a checkpoint; resuming
// from it ends with the same weights as a run that was never interrupted.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "csg/data/tiny.h"
#include "csg/io/checkpoint.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {
int logged_rows(const std::string& csv) {
  std::ifstream f(csv);
  int n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n - 1;  // header
}
}  // namespace

TEST(TrainSignal, SigtermCheckpointsAndResumeMatchesUninterrupted) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 3, 48, 12);
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.arch = "resnet18";
  c.width = 16;
  c.image_size = 32;
  c.batch_size = 8;
  c.queue_size = 128;
  c.embed_dim = 16;
  c.lr = 0.05;
  c.warmup = 0;
  c.max_steps = 18;
  c.workers = 2;
  c.log_every = 1;
  c.checkpoint_every = 100;
  c.eval_at_end = false;
  c.quiet = true;

  train::Config full = c;
  full.out_dir = tmp.subdir("full");
  ASSERT_EQ(train::run_training(full).steps, 18);

  // The interrupted run: a watcher sends SIGTERM once a few steps are logged.
  train::Config cut = c;
  cut.out_dir = tmp.subdir("cut");
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  sigaction(SIGTERM, &ignore, &previous);  // a late signal must not kill the test binary
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done && logged_rows(cut.out_dir + "/log.csv") < 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!done) kill(getpid(), SIGTERM);
  });
  train::TrainSummary s = train::run_training(cut);
  done = true;
  watcher.join();
  sigaction(SIGTERM, &previous, nullptr);
  ASSERT_TRUE(s.interrupted) << "the run finished before the signal arrived";
  ASSERT_GT(s.steps, 0);
  ASSERT_LT(s.steps, 18);
  ASSERT_TRUE(fs::exists(s.final_checkpoint));

  train::Config resumed = c;
  resumed.out_dir = cut.out_dir;
  resumed.resume = s.final_checkpoint;
  ASSERT_EQ(train::run_training(resumed).steps, 18);

  Checkpoint a = load_checkpoint(full.out_dir + "/csg-18.ckpt"), b = load_checkpoint(cut.out_dir + "/csg-18.ckpt");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i)
    EXPECT_EQ(csg::testing::max_abs_diff(a.tensors[i].tensor, b.tensors[i].tensor), 0)
        << a.tensors[i].name << " differs after stop at step " << s.steps << " and resume";
}
