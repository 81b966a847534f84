// tests/test_checkpoint.cpp — training checkpoints: round trip, refusal of foreign or
// truncated files, pruning of old ones.
#include <filesystem>
#include <fstream>

#include "csg/io/checkpoint.h"
#include "csg/io/safetensors.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

TEST(Checkpoint, RoundTrip) {
  csg::testing::TempDir tmp;
  const std::string dir = tmp.str();
  Checkpoint c;
  c.tensors.push_back({"model.fc.weight", csg::testing::uniform({3, 4}, 1, DType::F32)});
  c.tensors.push_back({"queue.3", csg::testing::uniform({2, 5}, 2, DType::F32)});
  c.tensors.push_back({"queue_ptr.3", from_vector(std::vector<int64_t>{4}, {1})});
  c.meta["step"] = "1200";
  const std::string path = checkpoint_path(dir, "csg", 1200);
  save_checkpoint(path, c);
  Checkpoint r = load_checkpoint(path);
  EXPECT_EQ(r.int_value("step"), 1200);
  EXPECT_EQ(r.value("format"), "csg-checkpoint");
  EXPECT_EQ(csg::testing::max_abs_diff(r.tensor("queue.3"), c.tensors[1].tensor), 0);
  EXPECT_EQ(r.tensor("queue_ptr.3").dtype(), DType::I64);
  EXPECT_THROW(r.tensor("missing"), Error);
  EXPECT_THROW(r.int_value("format"), Error);
}

TEST(Checkpoint, RefusesForeignAndTruncatedFiles) {
  csg::testing::TempDir tmp;
  const std::string dir = tmp.str();
  const std::string plain = dir + "/weights.safetensors";
  save_safetensors(plain, {{"w", zeros({2})}});
  try {
    load_checkpoint(plain);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a csg training checkpoint"), std::string::npos) << e.what();
  }
  Checkpoint c;
  c.tensors.push_back({"w", csg::testing::uniform({64, 64}, 3, DType::F32)});
  const std::string path = dir + "/c.ckpt";
  save_checkpoint(path, c);
  const auto size = fs::file_size(path);
  fs::resize_file(path, size / 2);
  try {
    load_checkpoint(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_checkpoint(dir + "/none.ckpt"), Error);
}

TEST(Checkpoint, PruneKeepsTheNewestOfItsOwnRunOnly) {
  csg::testing::TempDir tmp;
  const std::string dir = tmp.str();
  Checkpoint ours, other, legacy;
  ours.tensors = other.tensors = legacy.tensors = {{"w", zeros({1})}};
  ours.meta["run_id"] = "run-a";
  other.meta["run_id"] = "run-b";
  for (int64_t step : {100, 1000, 200, 300}) save_checkpoint(checkpoint_path(dir, "csg", step), ours);
  // Another run's checkpoints with higher and lower step numbers, one from before run ids, and
  // a truncated file: pruning "run-a" must leave all of them alone.
  for (int64_t step : {3, 6, 9000}) save_checkpoint(checkpoint_path(dir, "csg", step), other);
  save_checkpoint(checkpoint_path(dir, "csg", 50), legacy);
  std::ofstream(checkpoint_path(dir, "csg", 7)) << "truncated";
  std::ofstream(dir + "/other.txt") << "keep me";
  prune_checkpoints(dir, "csg", 2, "run-a");
  EXPECT_FALSE(fs::exists(checkpoint_path(dir, "csg", 100)));
  EXPECT_FALSE(fs::exists(checkpoint_path(dir, "csg", 200)));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, "csg", 300)));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, "csg", 1000)));
  for (int64_t step : {3, 6, 7, 50, 9000}) EXPECT_TRUE(fs::exists(checkpoint_path(dir, "csg", step))) << step;
  EXPECT_TRUE(fs::exists(dir + "/other.txt"));
  EXPECT_THROW(prune_checkpoints(dir, "csg", 2, ""), Error);

  std::vector<CheckpointFile> all = list_checkpoints(dir, "csg");
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all.front().step, 3);
  EXPECT_EQ(all.back().step, 9000);
  EXPECT_EQ(load_checkpoint_meta(checkpoint_path(dir, "csg", 9000)).at("run_id"), "run-b");
  EXPECT_THROW(load_checkpoint_meta(checkpoint_path(dir, "csg", 7)), Error);
}
