// csg/data/loader.h — a multi-threaded, prefetching, deterministic batch loader.
//
//   LoaderOptions opt;
//   opt.batch_size = 32; opt.shuffle = true; opt.drop_last = true; opt.num_workers = 8;
//   DataLoader loader(dataset, transform, opt);
//   for (int64_t e = 0; e < epochs; ++e) {
//     loader.start_epoch(e);
//     while (auto batch = loader.next()) { ... batch->views[0] is [B,3,H,W], batch->labels [B] ... }
//   }
//
// Determinism: the order of an epoch is a function of (seed, epoch); the transform of the
// sample at position p of epoch e gets a Generator seeded from (seed, epoch, p). Batches are
// handed out in order whatever the number of workers and their timing, so a run with 1 worker
// and a run with 8 give identical batches. (The position, not the data set index, keys the
// random stream so that a sample drawn twice in an epoch gets two different augmentations.)
//
// Workers claim samples in epoch order and may run at most `prefetch_batches` batches ahead of
// the consumer (a bounded queue: batches being decoded count against it). The worker that
// finishes the last sample of a batch collates it.
//
// Failures: a sample whose files cannot be read or decoded (Dataset::get throws) is, with
// OnError::Skip, left out of its batch with a warning on stderr naming the file and counted;
// with OnError::Substitute it is replaced by a deterministically chosen other sample (so the
// batch keeps its size); with OnError::Fail the error reaches next(). An exception from the
// transform always reaches next() (it is a bug, not bad data), with the file named.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "csg/data/datasets.h"
#include "csg/random.h"
#include "csg/tensor.h"

namespace csg::data {

// What a transform makes of one sample.
struct Item {
  std::vector<Tensor> views;  // each [3,H,W] float32 on the CPU; e.g. the query and key views
  int64_t label = -1;         // classification target (>= 0), or
  Tensor label_map;           // segmentation target [H,W] int64 (undefined for classification)
};

// The user-supplied per-sample pipeline (decode is done; augment, crop, normalise here).
// Draw all randomness from `gen` (see csg/random.h) so results are reproducible. It is called
// from several worker threads at once: it must not modify shared state.
using Transform = std::function<Item(Sample&, Generator&)>;

struct Batch {
  std::vector<Tensor> views;          // views[v] is [B,3,H,W] float32 (B = samples in this batch)
  Tensor labels;                      // [B] int64, or [B,H,W] int64 for segmentation
  std::vector<int64_t> indices;       // data set index of each row
  std::vector<std::string> paths;     // image file of each row
  int64_t epoch = 0, number = 0;      // batch `number` of `epoch`
  int64_t skipped = 0;                // samples of this batch that failed to load (OnError::Skip/Substitute)
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

enum class OnError { Fail, Skip, Substitute };

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;
  // Samples per epoch; 0 = the data set size. With sample_with_replacement every position
  // draws an independent uniform index (the reference's segmentation epochs of 12,000 draws).
  int64_t epoch_size = 0;
  bool sample_with_replacement = false;
  int num_workers = 4;           // 0 = decode on the thread that calls next()
  int prefetch_batches = 2;      // batches in flight or ready ahead of the consumer (>= 1)
  uint64_t seed = 0;
  OnError on_error = OnError::Skip;
  int max_substitutions = 8;     // OnError::Substitute: attempts per position before failing
  bool warn = true;              // print a line on stderr for each skipped sample
  // Data-parallel shards: this process takes rows [shard * b, (shard + 1) * b) of every batch,
  // b = batch_size / shard_count (batch_size is the global batch and must divide). Positions,
  // order and per-sample seeds stay those of the whole batch, so the shards of all processes
  // together are exactly the unsharded batch. A last, partial batch (no drop_last) may leave a
  // shard with fewer rows or none; batches_per_epoch() still counts the global batches.
  int shard = 0, shard_count = 1;
};

// Stacks items into a batch (shapes must agree; errors name the differing files).
Batch collate(std::vector<Item>& items, const std::vector<int64_t>& indices, const std::vector<std::string>& paths);

// [H,W] int64 tensor of the label values.
Tensor label_map_tensor(const LabelMap& labels);

// The reference's Cityscapes evaluation transform (no randomness): the whole image normalised,
// the whole label map. (VisDA's is augment::classification_eval_transform, beside its train view.)
Transform segmentation_eval_transform();

// The seed of the transform Generator for position `position` of `epoch` (attempt > 0: substitutes).
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t position, int attempt = 0);
// The data set indices of `epoch`, in order (before batching).
std::vector<int64_t> epoch_indices(int64_t dataset_size, const LoaderOptions& opt, int64_t epoch);

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, Transform transform, LoaderOptions options);
  ~DataLoader();  // stops and joins the workers, also in the middle of an epoch
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Begins `epoch` (abandoning any unfinished one) and starts prefetching.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch in order, or nullopt at its end. Throws csg::Error
  // for a failed sample (see OnError) or a failed transform; the epoch is over after that.
  std::optional<Batch> next();
  // Batches per epoch (empty batches, possible only when every sample of one is skipped,
  // are not handed out, so next() may return fewer).
  int64_t batches_per_epoch() const;
  int64_t samples_per_epoch() const;

  int64_t skipped_total() const { return skipped_total_.load(); }  // since construction
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return opt_; }
  // Samples handed to the transform so far in the current epoch (for tests of the bound).
  int64_t samples_started() const;

 private:
  struct Slot;
  struct Outcome;
  Outcome process(int64_t position);
  void worker_loop();
  void stop_workers();
  bool claimable_locked() const;
  void finish_slot(int64_t batch);
  // Positions of this shard are numbered 0, 1, ... ("local"); the epoch's position is global.
  int64_t shard_batch() const { return opt_.batch_size / opt_.shard_count; }
  int64_t batch_of(int64_t local) const { return local / shard_batch(); }
  int64_t global_position(int64_t local) const {
    return batch_of(local) * opt_.batch_size + opt_.shard * shard_batch() + local % shard_batch();
  }

  std::shared_ptr<const Dataset> dataset_;
  Transform transform_;
  LoaderOptions opt_;

  // Per-epoch state, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;  // data set index per position
  int64_t num_positions_ = 0;   // local positions that are batched (drop_last removes the tail)
  int64_t num_batches_ = 0;     // batches this shard hands out
  int64_t next_position_ = 0;   // next position to claim
  int64_t next_batch_ = 0;      // next batch the consumer gets
  std::vector<std::unique_ptr<Slot>> slots_;  // ring of prefetch_batches slots, batch b in slots_[b % n]
  bool stop_ = false;
  bool failed_ = false;
  std::vector<std::thread> workers_;
  std::atomic<int64_t> skipped_total_{0};
};

}  // namespace csg::data
