// csg/io/checkpoint.h — csg's own training checkpoints: every tensor of the training state
// (weights, optimizer momentum, EMA key heads, negatives queues) plus a string map of scalars
// (step, epoch, RNG seeds and offsets, the configuration), in one file.
//
// The container is safetensors (readable by any safetensors tool) with the metadata entry
// "format" = "csg-checkpoint" and "format_version" = "1", and the CRC-32C checksums of the header
// and of every tensor (csg/io/safetensors.h). Writes are atomic (temporary file, fsync, rename),
// so a crash while saving leaves the previous checkpoint intact; every load verifies the
// checksums, so a damaged file is an error naming it and the tensor, never weights trained on.
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
  std::string path;  // the file it was loaded from (named by the accessors' errors)

  const Tensor& tensor(const std::string& name) const;  // Error naming the key if absent
  const std::string& value(const std::string& key) const;
  int64_t int_value(const std::string& key) const;
  uint64_t unsigned_value(const std::string& key) const;
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Errors name the file: missing, a directory, truncated, not a csg checkpoint, a newer format
// version; a checksum mismatch is a csg::CorruptFile naming the file and the tensor. A file
// written before checkpoints carried checksums loads with a note on stderr saying so.
Checkpoint load_checkpoint(const std::string& path);

// The metadata alone (reads and verifies the header, not the tensors); the same checks as
// load_checkpoint.
std::map<std::string, std::string> load_checkpoint_meta(const std::string& path);

// Why the checkpoint at `path` cannot be used, after reading every byte and checking every
// checksum ("" when it is intact, or carries no checksums but reads whole): damaged, truncated,
// unreadable, not a csg checkpoint. The message names the file (and the damaged tensor).
std::string checkpoint_damage(const std::string& path);

// Prints, once per file and process, the note that `path` (a csg file of the kind `kind`
// names) carries no checksums and is used unverified.
void note_unverified(const std::string& path, const std::string& kind);

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
