// src/train/training_run.h — the pieces of one training run that run_training (trainer.cpp) calls in
// the order of the paper's algorithm: the set-up, one step, evaluation, checkpoints, the end.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "csg/data/loader.h"
#include "csg/ops.h"
#include "csg/optim.h"
#include "csg/train.h"
#include "src/train/best_checkpoint.h"
#include "src/train/data_parallel.h"
#include "src/train/data_setup.h"
#include "src/train/network.h"
#include "src/train/run_log.h"
#include "src/train/run_start.h"
#include "src/train/stop_signals.h"

namespace csg::train {

class TrainingRun {
 public:
  // The whole set-up, every check before anything is written: the settings, the device and its
  // precision, the ranks, the data (and its check), the resume target, the network and SGD (and the
  // state resumed); then the run folder, config.json and the logs.
  explicit TrainingRun(const Config& requested);

  // A signal that reached any rank before the first step (0: none); all ranks agree.
  int stop_before_first_step(StopSignals& stop);
  // Starts the clocks and puts the network in training mode.
  void begin();

  int64_t first_epoch() const { return step_ / steps_per_epoch_; }
  bool done() const { return step_ >= total_steps_; }
  // A resumed run continues inside its epoch: the loader's order depends only on (seed, epoch), so
  // skipping the batches already trained on gives the same data.
  void start_epoch(int64_t epoch);
  std::optional<data::Batch> next_batch() { return loader_->next(); }

  // One step on this rank's share of the batch: csg_step (the task loss, the InfoNCE terms, backward
  // and the ranks' gradient average) and SGD at the step's learning rate; then the global batch's
  // figures go to the log. Returns the signal all ranks stop on (0: go on).
  int train_step(const data::Batch& batch, StopSignals& stop);

  // --eval-every's epochs; --checkpoint-every's steps and the last.
  bool evaluation_due() const;
  bool checkpoint_due() const;
  // Evaluates the current weights on the target split; with --eval-every keeps best.ckpt.
  void evaluate();
  // The state at this step as a checkpoint (rank 0), keeping --keep-checkpoints of this run's.
  void save_checkpoint();

  // The end of a run stopped by `signal`, its checkpoint written.
  TrainSummary stopped_by(int signal);
  // The end of the last step: every rank learns the final checkpoint; the last weights are evaluated.
  TrainSummary finish();

 private:
  void check_data_before_the_run();
  data::LoaderOptions loader_options() const;
  void build_network_and_optimizer();
  double task_loss_share(const data::Batch& batch);
  std::map<std::string, std::string> best_record() const;
  void report_best();

  Config cfg_;
  Device dev_;
  ConvNumerics numerics_;  // of the network's convolutions: --precision, --deterministic, --no-tf32
  dist::Communicator* comm_ = nullptr;
  RunStart start_;
  TaskData data_;
  std::unique_ptr<data::DataLoader> loader_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  std::unique_ptr<CsgNetwork> net_;
  std::unique_ptr<optim::SGD> sgd_;
  std::unique_ptr<DataParallel> parallel_;
  std::unique_ptr<BestCheckpoint> best_;
  std::unique_ptr<RunLog> log_;
  int64_t step_ = 0, epoch_ = 0;
  int64_t first_step_ = 0;  // where this process started: 0, or the step a resumed run continues from
  int64_t steps_this_run() const { return step_ - first_step_; }
  // Segmentation: the first steps must supervise some pixel (labels that are all 255 train nothing).
  int64_t label_check_steps_ = 0, labelled_in_first_steps_ = 0, label_maps_seen_ = 0;
  TrainSummary summary_;
};

}  // namespace csg::train
