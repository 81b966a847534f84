// src/train/best_checkpoint.h — the best-so-far checkpoint of --eval-every: <out>/best.ckpt,
// replaced only by a strictly better target-split metric (ties keep the earlier one). Its record
// (metric, step, file) travels in every checkpoint's metadata, so a resumed run starts from the
// best it had and never replaces a better best with a worse one. The metric is measured on the
// target split: "best" is model selection on the test domain, not a zero-shot figure.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "csg/io/checkpoint.h"

namespace csg::train {

struct BestRecord {
  double metric = -1;  // percent; -1: nothing evaluated yet
  int64_t step = -1;
  std::string path;    // where that checkpoint was written
};

class BestCheckpoint {
 public:
  explicit BestCheckpoint(std::string path) : path_(std::move(path)) {}
  // Takes the record in a checkpoint's metadata ("best.metric", "best.step", "best.path") when it
  // is better than the one held; metadata without a record changes nothing.
  void restore(const std::map<std::string, std::string>& meta);
  // metric > best so far: records it and writes make() (whose metadata should include
  // add_to's record) to the path atomically; returns whether it did.
  bool offer(double metric, int64_t step, const std::function<Checkpoint()>& make);
  void add_to(std::map<std::string, std::string>& meta) const;
  const BestRecord& best() const { return best_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  BestRecord best_;
};

}  // namespace csg::train
