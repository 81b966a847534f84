// src/train/csg_step.h — one training step of CSG (or of the baseline with cfg.csg off).
#pragma once
#include <map>

#include "csg/optim.h"
#include "src/train/data_parallel.h"
#include "src/train/network.h"

namespace csg::train {

struct StepInput {
  Tensor x_q;     // [B,3,H,W] query view (also the task loss's input)
  Tensor x_k;     // [B,3,H,W] key view (= x_q without augmentation)
  Tensor labels;  // [B] class ids, or [B,H,W] train ids with 255 = ignore
  // Several ranks: this shard's share of the global task loss (DataParallel::task_loss_share).
  double task_loss_share = 1.0;
};

struct StepResult {
  double total = 0, task = 0;
  double reg = 0;                  // the Table 1 regularizer (before its weight), 0 without one
  std::map<int, double> nce;       // InfoNCE per layer group (before lambda)
  std::map<int, double> nce_top1;  // fraction of rows whose positive scored highest
};

// `parallel`: one process by default; with several (mpirun) the inputs are this rank's shard of
// the global batch and the step averages gradients and gathers keys over the ranks.
StepResult csg_step(CsgNetwork& net, const Config& cfg, optim::SGD& sgd, double lr_scale, const StepInput& in,
                    DataParallel& parallel = one_process());

}  // namespace csg::train
