// src/train/state.h — what a training checkpoint holds and how it is put back.
#pragma once
#include <map>
#include <string>

#include "csg/io/checkpoint.h"
#include "csg/optim.h"
#include "src/train/network.h"

namespace csg::train {

// Writes <out_dir>/csg-<step>.ckpt: f_e, the heads (h and h~), the classifier, SGD momentum,
// the queues and their pointers, the step, the default generator and the configuration
// that matters for resuming. f_eo is not stored: it is the ImageNet weights, reloaded.
// Also every setting ("config.<flag>", src/train/settings.h) and the run's id ("run_id"), by
// which pruning tells this run's checkpoints from others'.
// `extra` is added to the metadata (the best-so-far record of --eval-every).
std::string save_training_state(const Config& cfg, const CsgNetwork& net, optim::SGD& sgd, int64_t step,
                                const std::string& run_id, const std::map<std::string, std::string>& extra = {});
// The same content, not written (best.ckpt is written under its own name).
Checkpoint training_checkpoint(const Config& cfg, const CsgNetwork& net, optim::SGD& sgd, int64_t step,
                               const std::string& run_id, const std::map<std::string, std::string>& extra = {});
// Refuses (csg::Error listing every difference and the --allow-change that permits it) a
// resume whose trajectory settings differ from those recorded in the checkpoint's metadata.
void check_resume_settings(const std::string& path, const std::map<std::string, std::string>& meta,
                           const Config& cfg);
// Restores all of it; returns the step to continue from. Errors name the file and what does
// not match (another architecture, other layers, a foreign file).
int64_t restore_training_state(const std::string& path, const Config& cfg, CsgNetwork& net, optim::SGD& sgd);
// Loads only the network weights of a checkpoint (evaluation).
void load_network_weights(const std::string& path, CsgNetwork& net);
void load_network_weights(const Checkpoint& checkpoint, CsgNetwork& net);

}  // namespace csg::train
