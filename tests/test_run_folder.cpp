// tests/test_run_folder.cpp — a new run never destroys an old one: the data-loss sequence (a new
// run into a folder holding an earlier run's csg-3/6/9.ckpt), --overwrite, a new folder per run,
// config.json, and an honest resume (latest, a refused change of lr, --allow-change).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csg/data/tiny.h"
#include "csg/io/checkpoint.h"
#include "csg/io/tensorboard.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

train::Config tiny(const std::string& data) { return csg::testing::tiny_visda_config(data); }

std::string error_of(const train::Config& c) {
  return csg::testing::error_of([&] { train::run_training(c); });
}

// The files of a folder, sorted, TensorBoard events files (named by time, host and pid) as "events".
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    names.push_back(name.rfind("events.out.tfevents.", 0) == 0 ? "events" : name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(RunFolder, ANewRunIntoAnOldRunsFolderIsRefusedAndDestroysNothing) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 7, 16, 4);
  const std::string out = tmp.subdir("run");
  train::Config first = tiny(data);
  first.out_dir = out;
  first.max_steps = 9;
  first.checkpoint_every = 3;
  ASSERT_EQ(train::run_training(first).steps, 9);
  const std::vector<std::string> before = names_in(out);
  EXPECT_EQ(before,
            (std::vector<std::string>{"config.json", "csg-3.ckpt", "csg-6.ckpt", "csg-9.ckpt", "events", "log.csv"}));
  const std::string log_before = csg::testing::read_text(out + "/log.csv"), ckpt_before = csg::testing::read_text(out + "/csg-9.ckpt");

  // The sequence that lost data: a second, shorter run into the same folder. It used to write
  // csg-2.ckpt, prune it as the oldest by step, and truncate log.csv.
  train::Config second = tiny(data);
  second.out_dir = out;
  second.max_steps = 2;
  second.checkpoint_every = 2;
  const std::string refused = error_of(second);
  EXPECT_NE(refused.find("already holds files of another run"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--resume latest"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--overwrite"), std::string::npos) << refused;
  EXPECT_EQ(names_in(out), before);
  EXPECT_EQ(csg::testing::read_text(out + "/log.csv"), log_before);
  EXPECT_EQ(csg::testing::read_text(out + "/csg-9.ckpt"), ckpt_before);

  // --overwrite empties it first, saying what it removes; the new run's checkpoint survives.
  second.overwrite = true;
  ::testing::internal::CaptureStderr();
  train::TrainSummary s = train::run_training(second);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.steps, 2);
  EXPECT_NE(said.find("--overwrite: removing 6 entries"), std::string::npos) << said;
  EXPECT_NE(said.find("csg-9.ckpt"), std::string::npos) << said;
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"config.json", "csg-2.ckpt", "events", "log.csv"}));

  // --overwrite never deletes what no run wrote.
  std::ofstream(out + "/thesis.tex") << "precious";
  const std::string kept = error_of(second);
  EXPECT_NE(kept.find("holds files no run writes (thesis.tex)"), std::string::npos) << kept;
  EXPECT_TRUE(fs::exists(out + "/thesis.tex"));
  EXPECT_TRUE(fs::exists(out + "/csg-2.ckpt"));
}

// f_eo is reloaded from --weights on resume, and ImageNet weights are now found by default: a
// run begun from random initialisation must not continue with an ImageNet f_eo.
TEST(RunFolder, ResumeRefusesAnotherStartingPointForTheFrozenCopy) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 7, 16, 4);
  train::Config first = tiny(data);
  first.out_dir = tmp.subdir("run");
  first.max_steps = 2;
  ASSERT_EQ(train::run_training(first).steps, 2);
  train::Config resumed = first;
  resumed.max_steps = 4;
  resumed.resume = "latest";
  resumed.weights = tmp / "data/weights/resnet18-f37072fd.pth";
  const std::string refused = error_of(resumed);
  EXPECT_NE(refused.find("the run started from random initialisation and this resume loads " + resumed.weights),
            std::string::npos) << refused;
  EXPECT_NE(refused.find("resume with --weights none"), std::string::npos) << refused;
}

TEST(RunFolder, EachRunGetsANewFolderWithItsSettings) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 8, 16, 4);
  train::Config c = tiny(data);
  c.runs_root = tmp.subdir("runs");
  c.max_steps = 1;
  c.command_line = "csg train visda --lr 0.05";
  train::TrainSummary a = train::run_training(c), b = train::run_training(c);
  EXPECT_NE(a.out_dir, b.out_dir);
  for (const std::string& dir : {a.out_dir, b.out_dir}) {
    EXPECT_EQ(fs::path(dir).parent_path().string(), c.runs_root);
    EXPECT_EQ(fs::path(dir).filename().string().rfind("visda-", 0), 0u) << dir;
    const std::string json = csg::testing::read_text(dir + "/config.json");
    for (const char* want : {"\"lr\": \"0.05\"", "\"layers\": \"4\"", "\"seed\": \"0\"", "\"command_line\": \"csg train visda --lr 0.05\"",
                             "\"csg_version\": \"0.1.0 (git ", "\"build\": \"OpenBLAS", "\"run_id\": "})
      EXPECT_NE(json.find(want), std::string::npos) << want << " not in " << json;
  }
  EXPECT_NE(csg::testing::read_text(a.out_dir + "/config.json"), csg::testing::read_text(b.out_dir + "/config.json")) << "two runs, one run id";
}

TEST(RunFolder, ResumeIsHonest) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 9, 16, 4);
  const std::string out = tmp.subdir("run");
  train::Config c = tiny(data);
  c.out_dir = out;
  c.max_steps = 4;
  c.checkpoint_every = 2;
  c.keep_checkpoints = 1;
  ASSERT_EQ(train::run_training(c).steps, 4);
  ASSERT_TRUE(fs::exists(out + "/csg-4.ckpt"));
  ASSERT_FALSE(fs::exists(out + "/csg-2.ckpt"));  // pruned: keep 1

  // A changed learning rate changes the trajectory: refused, with the difference and the way out.
  train::Config r = c;
  r.resume = "latest";
  r.max_steps = 6;
  r.lr = 0.1;
  const std::string refused = error_of(r);
  EXPECT_NE(refused.find("lr: 0.05 -> 0.1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("max-steps: 4 -> 6"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--allow-change lr,max-steps"), std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(out + "/config-resume-4.json")) << "a refused resume must write nothing";

  // Named, the changes are taken; the run continues in its folder and its log.
  r.allow_change = {"lr", "max-steps"};
  train::TrainSummary s = train::run_training(r);
  EXPECT_EQ(s.steps, 6);
  EXPECT_EQ(s.out_dir, out);
  EXPECT_TRUE(fs::exists(out + "/config-resume-4.json"));
  EXPECT_TRUE(fs::exists(out + "/csg-6.ckpt"));
  EXPECT_FALSE(fs::exists(out + "/csg-4.ckpt")) << "the continued run prunes its own older checkpoint";
  std::ifstream log(out + "/log.csv");
  std::string line;
  std::vector<int> steps;
  std::getline(log, line);
  while (std::getline(log, line)) steps.push_back(std::atoi(line.c_str()));
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  // TensorBoard: one events file per run session, the same losses as log.csv's rows.
  std::vector<std::string> events = tensorboard_event_files(out);
  ASSERT_EQ(events.size(), 2u) << "the first run and the resumed one";
  std::vector<int64_t> tb_steps;
  for (const std::string& f : events)
    for (const TensorBoardScalar& v : read_tensorboard_scalars(f))
      if (v.tag == "train/loss") tb_steps.push_back(v.step);
  std::sort(tb_steps.begin(), tb_steps.end());  // two files written in one second: name order is not time order
  EXPECT_EQ(tb_steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));

  // Resuming from an earlier checkpoint of the same run in its folder: the later checkpoint
  // (csg-6, now "from the future") is not pruned in favour of it, and the log loses rows > 2.
  train::Config again = c;
  again.keep_checkpoints = 1;
  again.checkpoint_every = 1;
  train::Config early = c;
  early.out_dir = tmp.subdir("run2");
  early.checkpoint_every = 1;
  early.keep_checkpoints = 10;
  ASSERT_EQ(train::run_training(early).steps, 4);
  train::Config back = early;
  back.resume = early.out_dir + "/csg-2.ckpt";
  back.max_steps = 4;
  back.keep_checkpoints = 1;
  back.allow_change = {};
  EXPECT_EQ(train::run_training(back).steps, 4);
  EXPECT_TRUE(fs::exists(early.out_dir + "/csg-4.ckpt"));

  // latest with nothing to resume, and a path that does not exist, are clear errors.
  train::Config none = c;
  none.out_dir = tmp.subdir("empty");
  none.resume = "latest";
  EXPECT_NE(error_of(none).find("no checkpoint"), std::string::npos);
  none.resume = tmp / "missing.ckpt";
  EXPECT_NE(error_of(none).find("no such file"), std::string::npos);
}

TEST(RunFolder, ResumeLatestFindsTheNewestRunOfTheTask) {
  csg::testing::TempDir tmp;
  const std::string root = tmp.subdir("runs");
  fs::create_directories(root + "/visda-20260101-000000");
  fs::create_directories(root + "/visda-20260102-000000");
  fs::create_directories(root + "/gta5-20270101-000000");
  Checkpoint c;
  c.tensors = {{"w", zeros({1})}};
  save_checkpoint(root + "/visda-20260101-000000/csg-7.ckpt", c);
  save_checkpoint(root + "/visda-20260101-000000/csg-12.ckpt", c);
  save_checkpoint(root + "/gta5-20270101-000000/csg-1.ckpt", c);
  // The newest visda folder has no checkpoint yet: the one before it is the latest.
  EXPECT_EQ(train::resolve_resume("latest", "", root, "visda"), root + "/visda-20260101-000000/csg-12.ckpt");
  EXPECT_EQ(train::resolve_resume("latest", "", root, "gta5"), root + "/gta5-20270101-000000/csg-1.ckpt");
  EXPECT_EQ(train::resolve_resume(root + "/visda-20260101-000000", "", root, "visda"),
            root + "/visda-20260101-000000/csg-12.ckpt");
  EXPECT_THROW(train::resolve_resume("latest", "", tmp / "nothing", "visda"), Error);
}
