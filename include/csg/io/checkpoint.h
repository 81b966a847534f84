// csg/io/checkpoint.h — csg's own training checkpoints: every tensor of the training state
// (weights, optimizer momentum, EMA key heads, negatives queues) plus a string map of scalars
// (step, epoch, RNG seeds and offsets, the configuration), in one file.
//
// The container is safetensors (readable by any safetensors tool) with the metadata entry
// "format" = "csg-checkpoint" and "format_version" = "1". Writes are atomic (temporary file,
// fsync, rename), so a crash while saving leaves the previous checkpoint intact.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "csg/io/named_tensor.h"

namespace csg {

struct Checkpoint {
  std::vector<NamedTensor> tensors;
  std::map<std::string, std::string> meta;

  const Tensor& tensor(const std::string& name) const;  // Error naming the key if absent
  const std::string& value(const std::string& key) const;
  int64_t int_value(const std::string& key) const;
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Errors name the file: missing, truncated, not a csg checkpoint, a newer format version.
Checkpoint load_checkpoint(const std::string& path);

// Deletes all but the newest `keep` files "<dir>/<prefix>-<step>.ckpt" (by step number).
void prune_checkpoints(const std::string& dir, const std::string& prefix, int keep);
std::string checkpoint_path(const std::string& dir, const std::string& prefix, int64_t step);

}  // namespace csg
