// tests/test_loader.cpp — the prefetching loader: determinism across worker counts and runs,
// epoch orders, drop_last, the prefetch bound, failures (skip, substitute, fail, transform
// errors), shutdown mid-epoch and collation of classification and segmentation batches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>

#include "csg/augment.h"
#include "csg/data/loader.h"
#include "csg/data/tiny.h"
#include "tests/testing.h"

namespace fs = std::filesystem;
using csg::testing::TempDir;
using namespace csg;
using namespace csg::data;

namespace {

// In-memory samples: a 4x3 image whose pixels encode the index; indices in `bad` fail to load
// like a corrupt file does. Uneven per-sample delays scramble the workers' finishing order.
class FakeDataset : public Dataset {
 public:
  explicit FakeDataset(int64_t n, std::set<int64_t> bad = {}, bool jitter = false)
      : n_(n), bad_(std::move(bad)), jitter_(jitter) {}
  int64_t size() const override { return n_; }
  Sample get(int64_t i) const override {
    if (jitter_) std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 5 * 150));
    CSG_CHECK(!bad_.count(i), path(i), ": decoding failed (corrupt)");
    Sample s;
    s.image.width = 4;
    s.image.height = 3;
    s.image.rgb.assign(36, uint8_t(i % 251));
    s.label = int(i % 5);
    s.path = path(i);
    s.index = i;
    return s;
  }
  std::string path(int64_t i) const override { return "/fake/img_" + std::to_string(i) + ".png"; }
  std::string name() const override { return "fake"; }
  int num_classes() const override { return 5; }

 private:
  int64_t n_;
  std::set<int64_t> bad_;
  bool jitter_;
};

// Image -> tensor plus a random offset drawn from the per-sample generator.
Item noisy_transform(Sample& s, Generator& gen) {
  Item item;
  Tensor t = image::to_tensor(s.image);
  const float offset = counter_uniform(gen.seed(), gen.take(1));
  float* p = t.data<float>();
  for (int64_t k = 0; k < t.numel(); ++k) p[k] += offset;
  item.views = {t, t.clone()};
  item.label = s.label;
  return item;
}

struct Epoch {
  std::vector<std::vector<float>> views;
  std::vector<std::vector<double>> labels;
  std::vector<std::vector<int64_t>> indices;
  bool operator==(const Epoch& o) const { return views == o.views && labels == o.labels && indices == o.indices; }
};

Epoch run_epoch(DataLoader& loader, int64_t epoch) {
  Epoch e;
  loader.start_epoch(epoch);
  while (auto b = loader.next()) {
    EXPECT_EQ(b->epoch, epoch);
    EXPECT_GE(b->number, int64_t(e.indices.size()));  // a batch whose samples all failed is not handed out
    for (const Tensor& v : b->views) e.views.push_back(v.to_float_vector());
    e.labels.push_back(b->labels.to_vector());
    e.indices.push_back(b->indices);
  }
  return e;
}

std::vector<int64_t> flat(const Epoch& e) {
  std::vector<int64_t> out;
  for (const auto& b : e.indices) out.insert(out.end(), b.begin(), b.end());
  return out;
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)

}  // namespace

TEST(Loader, DeterministicAcrossWorkerCountsAndRuns) {
  auto data = std::make_shared<FakeDataset>(23, std::set<int64_t>{}, /*jitter=*/true);
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.shuffle = true;
  opt.seed = 7;
  opt.prefetch_batches = 3;
  std::vector<Epoch> runs;
  for (int workers : {0, 1, 4, 4}) {
    opt.num_workers = workers;
    DataLoader loader(data, noisy_transform, opt);
    runs.push_back(run_epoch(loader, 0));
    runs.push_back(run_epoch(loader, 1));
  }
  ASSERT_EQ(runs[0].indices.size(), 6u);  // 23 samples, the last batch has 3
  EXPECT_EQ(runs[0].indices.back().size(), 3u);
  for (size_t r = 2; r < runs.size(); ++r) EXPECT_TRUE(runs[r] == runs[r % 2]) << "run " << r;
  EXPECT_FALSE(runs[0] == runs[1]);
  // Views carry the per-sample random offset: equal across the two views of a sample,
  // different between samples.
  EXPECT_EQ(runs[0].views[0], runs[0].views[1]);
  const int64_t first = runs[0].indices[0][0];
  const float offset = counter_uniform(sample_seed(7, 0, 0), 0);
  EXPECT_FLOAT_EQ(runs[0].views[0][0], (float(first % 251) / 255.0f - 0.485f) / 0.229f + offset);
  const int64_t second = runs[0].indices[0][1];
  const float offset2 = counter_uniform(sample_seed(7, 0, 1), 0);
  EXPECT_FLOAT_EQ(runs[0].views[0][36], (float(second % 251) / 255.0f - 0.485f) / 0.229f + offset2);
  EXPECT_NE(offset, offset2);
}

TEST(Loader, ShuffleDiffersAcrossEpochsAndSeeds) {
  LoaderOptions opt;
  opt.shuffle = true;
  opt.seed = 1;
  const auto e0 = epoch_indices(50, opt, 0), e1 = epoch_indices(50, opt, 1);
  opt.seed = 2;
  const auto s2 = epoch_indices(50, opt, 0);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, s2);
  std::vector<int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  for (auto order : {e0, e1, s2}) {
    EXPECT_NE(order, identity);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, identity);  // a permutation
  }
  opt.shuffle = false;
  EXPECT_EQ(epoch_indices(50, opt, 3), identity);
  // Longer epochs chain permutations; sampling with replacement draws independently.
  opt.shuffle = true;
  opt.epoch_size = 120;
  const auto longer = epoch_indices(50, opt, 0);
  ASSERT_EQ(longer.size(), 120u);
  std::vector<int64_t> first50(longer.begin(), longer.begin() + 50);
  std::sort(first50.begin(), first50.end());
  EXPECT_EQ(first50, identity);
  opt.sample_with_replacement = true;
  const auto drawn = epoch_indices(50, opt, 0);
  ASSERT_EQ(drawn.size(), 120u);
  EXPECT_EQ(drawn, epoch_indices(50, opt, 0));
  EXPECT_NE(drawn, epoch_indices(50, opt, 1));
  const std::set<int64_t> distinct(drawn.begin(), drawn.end());
  EXPECT_LT(distinct.size(), 50u);  // 120 draws of 50: some repeat, (1-1/50)^120 ~ 9% never drawn
  EXPECT_GE(*distinct.begin(), 0);
  EXPECT_LT(*distinct.rbegin(), 50);
  // Sample seeds depend on every component.
  EXPECT_NE(sample_seed(0, 0, 1), sample_seed(0, 0, 2));
  EXPECT_NE(sample_seed(0, 1, 1), sample_seed(0, 0, 1));
  EXPECT_NE(sample_seed(1, 0, 1), sample_seed(0, 0, 1));
  EXPECT_NE(sample_seed(0, 0, 1, 1), sample_seed(0, 0, 1, 0));
}

TEST(Loader, DropLast) {
  auto data = std::make_shared<FakeDataset>(10);
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.num_workers = 2;
  opt.drop_last = true;
  DataLoader dropping(data, noisy_transform, opt);
  EXPECT_EQ(dropping.batches_per_epoch(), 2);
  Epoch e = run_epoch(dropping, 0);
  ASSERT_EQ(e.indices.size(), 2u);
  EXPECT_EQ(flat(e), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  opt.drop_last = false;
  DataLoader keeping(data, noisy_transform, opt);
  e = run_epoch(keeping, 0);
  ASSERT_EQ(e.indices.size(), 3u);
  EXPECT_EQ(e.indices[2], (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(e.labels[2], (std::vector<double>{3, 4}));
  // Too few samples for one full batch is refused up front.
  opt.drop_last = true;
  opt.batch_size = 11;
  EXPECT_THROW(DataLoader(data, noisy_transform, opt), csg::Error);
}

TEST(Loader, PrefetchesAtMostCapacityBatchesAhead) {
  auto data = std::make_shared<FakeDataset>(40);
  std::atomic<int> transformed{0};
  auto counting = [&](Sample& s, Generator& g) {
    ++transformed;
    return noisy_transform(s, g);
  };
  LoaderOptions opt;
  opt.batch_size = 3;
  opt.num_workers = 4;
  opt.prefetch_batches = 2;
  DataLoader loader(data, counting, opt);
  loader.start_epoch(0);
  auto wait_for = [&](int n) {
    for (int k = 0; k < 400 && transformed.load() < n; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  wait_for(6);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // time to overrun the bound, if it could
  EXPECT_EQ(transformed.load(), 6);
  EXPECT_EQ(loader.samples_started(), 6);
  ASSERT_TRUE(loader.next().has_value());
  wait_for(9);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(transformed.load(), 9);
  int batches = 1;
  while (loader.next()) ++batches;
  EXPECT_EQ(batches, 14);
  EXPECT_EQ(transformed.load(), 40);
}

TEST(Loader, TransformExceptionReachesTheConsumerWithTheFile) {
  auto data = std::make_shared<FakeDataset>(20);
  auto failing = [](Sample& s, Generator& g) {
    if (s.index == 9) throw std::runtime_error("crop larger than image");
    return noisy_transform(s, g);
  };
  for (int workers : {0, 3}) {
    LoaderOptions opt;
    opt.batch_size = 4;
    opt.num_workers = workers;
    DataLoader loader(data, failing, opt);
    loader.start_epoch(0);
    EXPECT_TRUE(loader.next().has_value());
    EXPECT_TRUE(loader.next().has_value());
    std::string msg;
    try {
      loader.next();
    } catch (const csg::Error& e) {
      msg = e.what();
    }
    EXPECT_CONTAINS(msg, "/fake/img_9.png");
    EXPECT_CONTAINS(msg, "crop larger than image");
    EXPECT_FALSE(loader.next().has_value());  // the epoch is over
    loader.start_epoch(1);  // a new epoch runs up to the failure again
    int delivered = 0;
    EXPECT_THROW(
        while (loader.next()) ++delivered, csg::Error);
    EXPECT_EQ(delivered, 2);
  }
}

TEST(Loader, FailedLoadsAreSkippedSubstitutedOrFatal) {
  auto data = std::make_shared<FakeDataset>(12, std::set<int64_t>{2, 5, 6});
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.num_workers = 3;
  opt.warn = false;
  {  // Skip: the batch shrinks, the skips are counted.
    DataLoader loader(data, noisy_transform, opt);
    loader.start_epoch(0);
    std::vector<int64_t> sizes, skipped, seen;
    while (auto b = loader.next()) {
      sizes.push_back(b->size());
      skipped.push_back(b->skipped);
      seen.insert(seen.end(), b->indices.begin(), b->indices.end());
      EXPECT_EQ(b->views[0].size(0), b->size());
      EXPECT_EQ(b->labels.size(0), b->size());
    }
    EXPECT_EQ(sizes, (std::vector<int64_t>{3, 2, 4}));
    EXPECT_EQ(skipped, (std::vector<int64_t>{1, 2, 0}));
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 3, 4, 7, 8, 9, 10, 11}));
    EXPECT_EQ(loader.skipped_total(), 3);
  }
  {  // Substitute: full batches, deterministic replacements.
    opt.on_error = OnError::Substitute;
    DataLoader a(data, noisy_transform, opt);
    opt.num_workers = 0;
    DataLoader b(data, noisy_transform, opt);
    const Epoch ea = run_epoch(a, 0), eb = run_epoch(b, 0);
    EXPECT_TRUE(ea == eb);
    for (const auto& batch : ea.indices) {
      EXPECT_EQ(batch.size(), 4u);
      for (int64_t i : batch) EXPECT_TRUE(i != 2 && i != 5 && i != 6);
    }
    EXPECT_GE(a.skipped_total(), 3);
  }
  {  // Fail: the first failing sample's file reaches the consumer.
    opt.on_error = OnError::Fail;
    opt.num_workers = 2;
    DataLoader loader(data, noisy_transform, opt);
    loader.start_epoch(0);
    try {
      loader.next();
      ADD_FAILURE() << "no error";
    } catch (const csg::Error& e) {
      EXPECT_CONTAINS(e.what(), "/fake/img_2.png");
    }
  }
  {  // Every sample of a batch failing: that batch is not handed out.
    auto all_bad = std::make_shared<FakeDataset>(8, std::set<int64_t>{0, 1, 2, 3});
    opt.on_error = OnError::Skip;
    DataLoader loader(all_bad, noisy_transform, opt);
    const Epoch e = run_epoch(loader, 0);
    ASSERT_EQ(e.indices.size(), 1u);
    EXPECT_EQ(e.indices[0], (std::vector<int64_t>{4, 5, 6, 7}));
  }
}

TEST(Loader, CorruptImageOnDiskIsACountedSkipWithAWarning) {
  TempDir tmp;
  write_tiny_visda(tmp.str(), 4, 12, 12);
  {
    std::ofstream(tmp.str() + "/train/bus/bus_0002.png", std::ios::binary) << "\x89PNG\r\n garbage";
  }
  fs::remove(tmp.str() + "/train/horse/horse_0004.png");
  std::shared_ptr<const Dataset> train = open_visda(tmp.str(), "train");
  LoaderOptions opt;
  opt.batch_size = 5;
  opt.num_workers = 2;
  augment::ClassificationTransform eval;
  eval.resize = eval.crop = 16;
  DataLoader loader(train, augment::classification_eval_transform(eval), opt);
  ::testing::internal::CaptureStderr();
  const Epoch e = run_epoch(loader, 0);
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(flat(e).size(), 10u);
  EXPECT_EQ(loader.skipped_total(), 2);
  EXPECT_CONTAINS(warnings, tmp.str() + "/train/bus/bus_0002.png");
  EXPECT_CONTAINS(warnings, tmp.str() + "/train/horse/horse_0004.png");
  EXPECT_CONTAINS(warnings, "warning: skipping");
  ASSERT_EQ(e.indices.size(), 3u);
  EXPECT_EQ(e.views[0].size(), 3u * 3 * 16 * 16);  // 0..4 without 2 and 4
  EXPECT_EQ(e.labels[0], (std::vector<double>{0, 1, 3}));
  EXPECT_EQ(e.labels[1], (std::vector<double>{5, 6, 7, 8, 9}));
}

TEST(Loader, RestartsAndStopsCleanlyMidEpoch) {
  auto data = std::make_shared<FakeDataset>(60, std::set<int64_t>{}, /*jitter=*/true);
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.num_workers = 4;
  opt.shuffle = true;
  opt.prefetch_batches = 4;
  DataLoader reference(data, noisy_transform, opt);
  const Epoch full = run_epoch(reference, 2);
  {
    DataLoader loader(data, noisy_transform, opt);
    loader.start_epoch(2);
    loader.next();
    loader.next();
    // Abandon epoch 2 with batches in flight, then run it again from the start.
    EXPECT_TRUE(run_epoch(loader, 2) == full);
    loader.start_epoch(3);
    loader.next();
  }  // destroyed mid-epoch: the workers are joined
  DataLoader never_started(data, noisy_transform, opt);
  EXPECT_THROW(never_started.next(), csg::Error);
}

TEST(Loader, CollatesSegmentationBatches) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 9, 1, 4);
  std::shared_ptr<const Dataset> cs = open_cityscapes(tmp.str() + "/cityscapes", "val");
  LoaderOptions opt;
  opt.batch_size = 3;
  opt.num_workers = 2;
  DataLoader loader(cs, segmentation_eval_transform(), opt);
  loader.start_epoch(0);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->views.size(), 1u);
  EXPECT_EQ(b->views[0].shape(), (Shape{3, 3, 32, 64}));
  EXPECT_EQ(b->labels.shape(), (Shape{3, 32, 64}));
  EXPECT_EQ(b->labels.dtype(), DType::I64);
  const std::vector<double> labels = b->labels.to_vector();
  const std::vector<float> images = b->views[0].to_float_vector();
  for (int i = 0; i < 3; ++i) {
    Sample s = cs->get(i);
    EXPECT_EQ(b->paths[size_t(i)], s.path);
    const Tensor expected = image::to_tensor(s.image);
    const std::vector<float> ev = expected.to_float_vector();
    EXPECT_TRUE(std::equal(ev.begin(), ev.end(), images.begin() + i * 3 * 32 * 64));
    for (size_t k = 0; k < s.label_map.values.size(); ++k)
      ASSERT_EQ(labels[i * 32 * 64 + k], s.label_map.values[k]);
  }
  b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->size(), 1);
  EXPECT_FALSE(loader.next().has_value());
}

TEST(Loader, CollateRefusesMismatchedItems) {
  Item a, b;
  a.views = {zeros({3, 4, 4})};
  b.views = {zeros({3, 4, 5})};
  a.label = b.label = 1;
  std::vector<Item> items = {a, b};
  std::string msg;
  try {
    collate(items, {0, 1}, {"a.png", "b.png"});
  } catch (const csg::Error& e) {
    msg = e.what();
  }
  EXPECT_CONTAINS(msg, "b.png");
  EXPECT_CONTAINS(msg, "[3,4,5]");
  EXPECT_CONTAINS(msg, "a.png has [3,4,4]");
  b.views = {zeros({3, 4, 4})};
  b.label = -1;
  items = {a, b};
  EXPECT_THROW(collate(items, {0, 1}, {"a.png", "b.png"}), csg::Error);
  b.label = 0;
  items = {a, b};
  const Batch batch = collate(items, {0, 1}, {"a.png", "b.png"});
  EXPECT_EQ(batch.views[0].shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(batch.labels.to_vector(), (std::vector<double>{1, 0}));
}

// Data-parallel shards: the rows of every batch, shard by shard in order, are exactly the
// unsharded batch (same samples, same per-position augmentation), whatever the worker count,
// also for a last partial batch that leaves one shard empty.
TEST(LoaderShards, ShardsTogetherAreTheUnshardedBatch) {
  auto ds = std::make_shared<FakeDataset>(22, std::set<int64_t>{}, /*jitter=*/true);
  for (bool drop_last : {true, false}) {
    LoaderOptions whole;
    whole.batch_size = 8;
    whole.shuffle = true;
    whole.drop_last = drop_last;
    whole.seed = 5;
    whole.num_workers = 2;
    DataLoader one(ds, noisy_transform, whole);
    one.start_epoch(1);
    std::vector<Batch> expected;
    while (auto b = one.next()) expected.push_back(*b);
    ASSERT_EQ(expected.size(), drop_last ? 2u : 3u);

    const int shards = 4;  // batch 8: 2 rows each; the partial last batch (6 rows) leaves shard 3 empty
    std::vector<std::vector<Batch>> got(shards);
    for (int s = 0; s < shards; ++s) {
      LoaderOptions o = whole;
      o.shard = s;
      o.shard_count = shards;
      o.num_workers = s % 2 == 0 ? 0 : 3;
      DataLoader l(ds, noisy_transform, o);
      EXPECT_EQ(l.batches_per_epoch(), one.batches_per_epoch());
      l.start_epoch(1);
      while (auto b = l.next()) got[s].push_back(*b);
    }
    for (size_t b = 0; b < expected.size(); ++b) {
      std::vector<int64_t> indices;
      std::vector<Tensor> views;
      for (int s = 0; s < shards; ++s) {
        if (b >= got[s].size()) continue;  // this shard has no rows of the last batch
        EXPECT_EQ(got[s][b].number, static_cast<int64_t>(b));
        indices.insert(indices.end(), got[s][b].indices.begin(), got[s][b].indices.end());
        views.push_back(got[s][b].views[0]);
      }
      EXPECT_EQ(indices, expected[b].indices) << "batch " << b << " drop_last " << drop_last;
      EXPECT_EQ(cat(views, 0).to_vector(), expected[b].views[0].to_vector()) << "batch " << b;
    }
    if (!drop_last) {
      EXPECT_EQ(got[3].size(), 2u) << "shard 3 has no rows of the partial last batch";
    }
  }
}

TEST(LoaderShards, RefusesABatchThatDoesNotSplit) {
  auto ds = std::make_shared<FakeDataset>(20);
  LoaderOptions o;
  o.batch_size = 6;
  o.shard_count = 4;
  o.shard = 1;
  std::string msg;
  try {
    DataLoader l(ds, noisy_transform, o);
  } catch (const csg::Error& e) {
    msg = e.what();
  }
  EXPECT_CONTAINS(msg, "a batch of 6 does not split into 4 equal shards");
}
