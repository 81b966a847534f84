// src/train/trainer.cpp — the training loop, as the paper's algorithm reads: set up, then for each
// step take a batch, run the CSG step and SGD, log, evaluate and checkpoint when due. The pieces are
// named functions of TrainingRun (training_run.h): the set-up, the step (csg_step.cpp, Figure 3),
// the log (run_log.h), resume (run_start.h, state.h) and signals (stop_signals.h).
#include <optional>

#include "csg/train.h"
#include "src/core/host_heap.h"
#include "src/train/stop_signals.h"
#include "src/train/training_run.h"

namespace csg::train {

Config default_config(Task task) {
  Config c;
  c.task = task;
  if (task == Task::Gta5) {  // docs/paper-notes.md#gta5-to-cityscapes-segmentation
    c.arch = Arch::DeepLab101;
    c.num_classes = 19;
    c.lambda = 75;
    c.chunks = 8;
    c.lr = 1e-3;
    c.batch_size = 6;
    c.epochs = 50;
    c.iters_per_epoch = 2000;
  }
  return c;
}

TrainSummary run_training(const Config& requested) {
  // First: the threads started from here on (OpenMP's, the loader's) never take these signals.
  std::optional<StopSignals> stop(std::in_place);
  keep_freed_host_memory();  // each step reuses the last step's memory without page faults
  // Every check, the data, the networks and SGD, the resumed state; then the run folder.
  TrainingRun run(requested);
  // A signal during the set-up: the state before the first step is the checkpoint (resuming it starts over).
  if (const int signal = run.stop_before_first_step(*stop)) {
    run.save_checkpoint();
    return run.stopped_by(signal);
  }
  run.begin();
  for (int64_t epoch = run.first_epoch(); !run.done(); ++epoch) {
    run.start_epoch(epoch);
    while (!run.done()) {
      std::optional<data::Batch> batch = run.next_batch();
      if (!batch) break;
      // The CSG step and SGD; the step's figures to the log; a signal stops all ranks after it.
      const int signal = run.train_step(*batch, *stop);
      // Before the checkpoint, so that the checkpoint records this evaluation's best.
      if (run.evaluation_due()) run.evaluate();
      if (run.checkpoint_due() || signal != 0) run.save_checkpoint();
      if (signal != 0) return run.stopped_by(signal);
    }
  }
  // Training is over; a signal from here on ends the process at once (its default), the final
  // checkpoint on disk.
  stop.reset();
  return run.finish();
}

}  // namespace csg::train
