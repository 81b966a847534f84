// csg/io/checkpoint.h — csg's own training checkpoints: every tensor of the training state
// (weights, optimizer momentum, EMA key heads, negatives queues) plus a string map of scalars
// (step, epoch, RNG seeds and offsets, the configuration), in one file.
//
// The container is safetensors (readable by any safetensors tool) with the metadata entry
// "format" = "csg-checkpoint" and "format_version" = "1". Writes are atomic (temporary file,
// fsync, rename), so a crash while saving leaves the previous checkpoint intact.
#pragma once
#include <cstdint>
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

// The metadata alone (reads the header, not the tensors); the same checks as load_checkpoint.
std::map<std::string, std::string> load_checkpoint_meta(const std::string& path);

// "<dir>/<prefix>-<step>.ckpt"
std::string checkpoint_path(const std::string& dir, const std::string& prefix, int64_t step);

struct CheckpointFile {
  int64_t step;
  std::string path;
};
// The files "<dir>/<prefix>-<step>.ckpt" in `dir`, by step (oldest first); none if `dir` is absent.
std::vector<CheckpointFile> list_checkpoints(const std::string& dir, const std::string& prefix);

// Deletes all but the newest `keep` checkpoints of one run: "<dir>/<prefix>-<step>.ckpt" files
// whose metadata "run_id" is `run_id` and whose step is at most `up_to_step`. Files of another
// run, of no run id (older csg), unreadable ones, and this run's checkpoints past `up_to_step`
// (written before it was resumed from an earlier step) are never touched, so pruning can only
// delete what the run that prunes has superseded. It also removes the temporary files of writers
// that died mid-write (kill -9 during a checkpoint), saying so on stderr.
void prune_checkpoints(const std::string& dir, const std::string& prefix, int keep, const std::string& run_id,
                       int64_t up_to_step = INT64_MAX);

}  // namespace csg
