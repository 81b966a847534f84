// src/data/loader.cpp — the prefetching loader: epoch order, per-sample seeds, the worker pool
// with its bounded ring of batch slots, failure handling and collation.
#include "csg/data/loader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>

namespace csg::data {

namespace {

// Distinct streams for the three uses of the seed.
constexpr uint64_t kShuffleStream = 0x53485546464c4531ULL;
constexpr uint64_t kSampleStream = 0x53414d504c455331ULL;
constexpr uint64_t kSubstituteStream = 0x5355425354495431ULL;

uint64_t derive(uint64_t key, uint64_t value) { return mix64(key ^ mix64(value)); }

// Uniform in [0, n) from 64 random bits (multiply-shift; bias < n / 2^64).
int64_t bounded(uint64_t r, int64_t n) {
  return static_cast<int64_t>((static_cast<unsigned __int128>(r) * static_cast<uint64_t>(n)) >> 64);
}

// Fisher-Yates over 0..n-1 driven by the counter stream `key`.
std::vector<int64_t> permutation(int64_t n, uint64_t key) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[bounded(derive(key, static_cast<uint64_t>(i)), i + 1)]);
  return p;
}

std::string describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Error messages must name the file; most already do (image::load, read_label_png).
std::string with_path(const std::string& path, const std::string& msg) {
  return msg.find(path) == std::string::npos ? path + ": " + msg : msg;
}

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t position, int attempt) {
  return derive(derive(derive(derive(seed, kSampleStream), static_cast<uint64_t>(epoch)),
                       static_cast<uint64_t>(position)),
                static_cast<uint64_t>(attempt));
}

std::vector<int64_t> epoch_indices(int64_t n, const LoaderOptions& opt, int64_t epoch) {
  CSG_CHECK(n > 0, "epoch_indices: empty data set");
  const int64_t count = opt.epoch_size > 0 ? opt.epoch_size : n;
  const uint64_t key = derive(derive(opt.seed, kShuffleStream), static_cast<uint64_t>(epoch));
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  if (opt.sample_with_replacement) {
    for (int64_t p = 0; p < count; ++p) out.push_back(bounded(derive(key, static_cast<uint64_t>(p)), n));
  } else if (opt.shuffle) {
    // Epochs longer than the data set chain independent permutations.
    for (uint64_t chunk = 0; static_cast<int64_t>(out.size()) < count; ++chunk) {
      const std::vector<int64_t> p = permutation(n, derive(key, ~chunk));
      const int64_t take = std::min<int64_t>(n, count - static_cast<int64_t>(out.size()));
      out.insert(out.end(), p.begin(), p.begin() + take);
    }
  } else {
    for (int64_t p = 0; p < count; ++p) out.push_back(p % n);
  }
  return out;
}

// ---- collation ------------------------------------------------------------------------

Tensor label_map_tensor(const LabelMap& labels) {
  CSG_CHECK(labels.values.size() == static_cast<size_t>(labels.width) * labels.height,
            "label_map_tensor: a ", labels.width, "x", labels.height, " map with ", labels.values.size(), " values");
  Tensor t = empty({labels.height, labels.width}, {DType::I64});
  int64_t* p = t.data<int64_t>();
  for (size_t i = 0; i < labels.values.size(); ++i) p[i] = labels.values[i];
  return t;
}

namespace {
// Stacks same-shaped CPU tensors of one dtype along a new leading dimension.
template <class T>
Tensor stack_rows(const std::vector<Tensor>& rows, DType dt) {
  Shape shape = rows[0].shape();
  shape.insert(shape.begin(), static_cast<int64_t>(rows.size()));
  Tensor out = empty(shape, {dt});
  const int64_t n = rows[0].numel();
  T* dst = out.data<T>();
  for (size_t i = 0; i < rows.size(); ++i) {
    Tensor c = rows[i].contiguous();
    std::memcpy(dst + i * n, c.data<T>(), static_cast<size_t>(n) * sizeof(T));
  }
  return out;
}

void check_same(const Tensor& t, const Tensor& first, DType dt, const char* what, const std::string& path,
                const std::string& first_path) {
  CSG_CHECK(t.defined(), "collate: ", path, ": the transform returned no ", what);
  CSG_CHECK(t.device() == Device::CPU && t.dtype() == dt, "collate: ", path, ": ", what, " must be a CPU ",
            dtype_name(dt), " tensor, got ", t.describe());
  CSG_CHECK(t.shape() == first.shape(), "collate: ", path, ": ", what, " has shape ", shape_str(t.shape()), " but ",
            first_path, " has ", shape_str(first.shape()), "; samples of a batch must have equal shapes");
}
}  // namespace

Batch collate(std::vector<Item>& items, const std::vector<int64_t>& indices, const std::vector<std::string>& paths) {
  CSG_CHECK(!items.empty() && items.size() == indices.size() && items.size() == paths.size(),
            "collate: ", items.size(), " items, ", indices.size(), " indices, ", paths.size(), " paths");
  Batch b;
  b.indices = indices;
  b.paths = paths;
  const Item& first = items[0];
  CSG_CHECK(!first.views.empty(), "collate: ", paths[0], ": the transform returned no image view");
  for (size_t v = 0; v < first.views.size(); ++v) {
    std::vector<Tensor> rows;
    for (size_t i = 0; i < items.size(); ++i) {
      CSG_CHECK(items[i].views.size() == first.views.size(), "collate: ", paths[i], " has ", items[i].views.size(),
                " views but ", paths[0], " has ", first.views.size());
      check_same(items[i].views[v], first.views[v], DType::F32, "image view", paths[i], paths[0]);
      rows.push_back(items[i].views[v]);
    }
    CSG_CHECK(first.views[v].dim() == 3, "collate: ", paths[0], ": views must be [C,H,W], got ",
              shape_str(first.views[v].shape()));
    b.views.push_back(stack_rows<float>(rows, DType::F32));
  }
  if (first.label_map.defined()) {
    std::vector<Tensor> rows;
    for (size_t i = 0; i < items.size(); ++i) {
      check_same(items[i].label_map, first.label_map, DType::I64, "label map", paths[i], paths[0]);
      rows.push_back(items[i].label_map);
    }
    CSG_CHECK(first.label_map.dim() == 2, "collate: ", paths[0], ": label maps must be [H,W], got ",
              shape_str(first.label_map.shape()));
    b.labels = stack_rows<int64_t>(rows, DType::I64);
  } else {
    std::vector<int64_t> labels;
    for (size_t i = 0; i < items.size(); ++i) {
      CSG_CHECK(!items[i].label_map.defined() && items[i].label >= 0, "collate: ", paths[i],
                ": every item of a batch needs a class label >= 0 (or every item a label map)");
      labels.push_back(items[i].label);
    }
    b.labels = from_vector(labels, {static_cast<int64_t>(labels.size())});
  }
  return b;
}

Transform segmentation_eval_transform() {
  return [](Sample& s, Generator&) {
    Item item;
    item.views.push_back(image::to_tensor(s.image));
    item.label_map = label_map_tensor(s.label_map);
    return item;
  };
}

// ---- the loader -------------------------------------------------------------------------

struct DataLoader::Outcome {
  std::optional<Item> item;  // empty when skipped or failed
  int64_t index = -1;
  std::string path;
  int64_t skipped = 0;
  std::string error;  // fatal: reaches next()
};

struct DataLoader::Slot {
  int64_t batch = -1;  // the batch this slot holds; -1 = free
  int64_t remaining = 0;
  std::vector<Outcome> outcomes;
  bool ready = false;
  std::optional<Batch> result;  // collated (empty if every sample was skipped)
  std::string error;
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, Transform transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), opt_(options) {
  CSG_CHECK(dataset_ != nullptr, "DataLoader: no data set");
  CSG_CHECK(transform_ != nullptr, "DataLoader: no transform");
  CSG_CHECK(dataset_->size() > 0, "DataLoader: ", dataset_->name(), " has no samples");
  CSG_CHECK(opt_.batch_size > 0, "DataLoader: batch_size must be positive, got ", opt_.batch_size);
  CSG_CHECK(opt_.num_workers >= 0, "DataLoader: num_workers must be >= 0, got ", opt_.num_workers);
  CSG_CHECK(opt_.prefetch_batches >= 1, "DataLoader: prefetch_batches must be >= 1, got ", opt_.prefetch_batches);
  CSG_CHECK(opt_.epoch_size >= 0, "DataLoader: epoch_size must be >= 0, got ", opt_.epoch_size);
  CSG_CHECK(opt_.max_substitutions >= 1, "DataLoader: max_substitutions must be >= 1");
  CSG_CHECK(opt_.shard_count >= 1 && opt_.shard >= 0 && opt_.shard < opt_.shard_count, "DataLoader: shard ",
            opt_.shard, " of ", opt_.shard_count);
  CSG_CHECK(opt_.batch_size % opt_.shard_count == 0, "DataLoader: a batch of ", opt_.batch_size,
            " does not split into ", opt_.shard_count, " equal shards");
  CSG_CHECK(batches_per_epoch() > 0, "DataLoader: ", dataset_->name(), ": ", samples_per_epoch(),
            " samples make no full batch of ", opt_.batch_size, " with drop_last");
}

DataLoader::~DataLoader() { stop_workers(); }

int64_t DataLoader::samples_per_epoch() const { return opt_.epoch_size > 0 ? opt_.epoch_size : dataset_->size(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = samples_per_epoch();
  return opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
}

int64_t DataLoader::samples_started() const {
  std::lock_guard<std::mutex> lk(mu_);
  return next_position_;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void DataLoader::start_epoch(int64_t epoch) {
  stop_workers();
  std::lock_guard<std::mutex> lk(mu_);
  epoch_ = epoch;
  order_ = epoch_indices(dataset_->size(), opt_, epoch);
  const int64_t global_positions = std::min<int64_t>(static_cast<int64_t>(order_.size()),
                                                     batches_per_epoch() * opt_.batch_size);
  // This shard's rows of the full batches, then of the last partial one.
  const int64_t full = global_positions / opt_.batch_size, tail = global_positions % opt_.batch_size;
  num_positions_ = full * shard_batch() + std::clamp<int64_t>(tail - opt_.shard * shard_batch(), 0, shard_batch());
  num_batches_ = (num_positions_ + shard_batch() - 1) / shard_batch();
  next_position_ = 0;
  next_batch_ = 0;
  stop_ = false;
  failed_ = false;
  slots_.clear();
  for (int i = 0; i < opt_.prefetch_batches; ++i) slots_.push_back(std::make_unique<Slot>());
  for (int i = 0; i < opt_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

DataLoader::Outcome DataLoader::process(int64_t position) {
  Outcome out;
  int64_t index = order_[static_cast<size_t>(position)];
  for (int attempt = 0;; ++attempt) {
    Sample sample;
    try {
      sample = dataset_->get(index);
    } catch (...) {
      const std::string msg = with_path(dataset_->path(index), describe_exception(std::current_exception()));
      if (opt_.on_error == OnError::Fail) {
        out.error = dataset_->name() + ": " + msg;
        return out;
      }
      ++out.skipped;
      ++skipped_total_;
      if (opt_.warn)
        std::fprintf(stderr, "csg: warning: skipping a sample of %s: %s\n", dataset_->name().c_str(), msg.c_str());
      if (opt_.on_error == OnError::Skip) return out;
      if (attempt + 1 >= opt_.max_substitutions) {
        out.error = detail::cat(dataset_->name(), ": position ", position, " of epoch ", epoch_, ": ",
                                opt_.max_substitutions, " samples in a row failed to load; the last: ", msg);
        return out;
      }
      // A substitute drawn from (seed, epoch, position, attempt): independent of thread timing.
      index = bounded(sample_seed(opt_.seed ^ kSubstituteStream, epoch_, position, attempt + 1), dataset_->size());
      continue;
    }
    Generator gen(sample_seed(opt_.seed, epoch_, position, attempt));
    out.index = index;
    out.path = sample.path;
    try {
      out.item = transform_(sample, gen);
    } catch (...) {
      out.error = with_path(sample.path, "transform failed: " + describe_exception(std::current_exception()));
    }
    return out;
  }
}

bool DataLoader::claimable_locked() const {
  return next_position_ < num_positions_ && batch_of(next_position_) < next_batch_ + opt_.prefetch_batches;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [this] { return stop_ || next_position_ >= num_positions_ || claimable_locked(); });
    if (stop_ || next_position_ >= num_positions_) return;
    const int64_t position = next_position_++;
    const int64_t b = batch_of(position);
    Slot& slot = *slots_[static_cast<size_t>(b % opt_.prefetch_batches)];
    if (slot.batch != b) {  // first position of batch b claimed: the slot was freed by next()
      slot.batch = b;
      slot.remaining = std::min(shard_batch(), num_positions_ - b * shard_batch());
      slot.outcomes.assign(static_cast<size_t>(slot.remaining), Outcome());
    }
    lk.unlock();
    Outcome out = process(global_position(position));
    lk.lock();
    slot.outcomes[static_cast<size_t>(position - b * shard_batch())] = std::move(out);
    if (--slot.remaining == 0) {
      // Only this thread touches a complete, not yet ready slot.
      lk.unlock();
      finish_slot(b);
      lk.lock();
      slot.ready = true;
      ready_cv_.notify_all();
    }
  }
}

void DataLoader::finish_slot(int64_t b) {
  Slot& slot = *slots_[static_cast<size_t>(b % opt_.prefetch_batches)];
  std::vector<Item> items;
  std::vector<int64_t> indices;
  std::vector<std::string> paths;
  int64_t skipped = 0;
  for (Outcome& o : slot.outcomes) {
    skipped += o.skipped;
    if (!o.error.empty() && slot.error.empty()) slot.error = o.error;  // the first position's error
    if (o.item) {
      items.push_back(std::move(*o.item));
      indices.push_back(o.index);
      paths.push_back(o.path);
    }
  }
  slot.outcomes.clear();
  if (!slot.error.empty() || items.empty()) return;
  try {
    slot.result = collate(items, indices, paths);
    slot.result->epoch = epoch_;
    slot.result->number = b;
    slot.result->skipped = skipped;
  } catch (...) {
    slot.error = describe_exception(std::current_exception());
  }
}

std::optional<Batch> DataLoader::next() {
  std::unique_lock<std::mutex> lk(mu_);
  CSG_CHECK(epoch_ >= 0, "DataLoader::next: call start_epoch(epoch) first");
  while (!failed_ && next_batch_ < num_batches_) {
    const int64_t b = next_batch_;
    Slot& slot = *slots_[static_cast<size_t>(b % opt_.prefetch_batches)];
    if (opt_.num_workers == 0) {
      // Same positions, seeds and collation as the workers, on this thread.
      slot.batch = b;
      const int64_t first = b * shard_batch(), last = std::min(num_positions_, first + shard_batch());
      next_position_ = last;
      lk.unlock();
      for (int64_t p = first; p < last; ++p) slot.outcomes.push_back(process(global_position(p)));
      finish_slot(b);
      lk.lock();
    } else {
      ready_cv_.wait(lk, [&] { return slot.batch == b && slot.ready; });
    }
    std::optional<Batch> result = std::move(slot.result);
    const std::string error = std::move(slot.error);
    slot = Slot();  // free for batch b + prefetch_batches
    ++next_batch_;
    work_cv_.notify_all();
    if (!error.empty()) {
      failed_ = true;
      lk.unlock();
      stop_workers();
      CSG_FAIL(error);
    }
    if (result) return result;
  }
  return std::nullopt;
}

}  // namespace csg::data
