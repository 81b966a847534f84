// src/train/data_parallel.h — what changes in a training step when several processes share it
// (csg/distributed.h; `mpirun -np N ./csg train ...`). With one process every call below is
// the single-process step's own operation, so the step reads the same either way.
//
// Each rank computes on its shard of every global batch (the loader's shards, whose union is the
// single-process batch, augmentation included), then:
//   - gradients are averaged over the ranks during backward (dist::GradientAverager);
//   - the keys of all ranks join every rank's queue, in the single-process batch's order, so
//     all queues stay equal to the single-process run's (as MoCo's concat_all_gather);
//   - the EMA heads, being updated from equal weights, stay equal without communication;
//   - BatchNorm needs no synchronisation: CSG trains with every backbone BN frozen (ImageNet
//     statistics, CsgNetwork::set_training_modes); the one head with batch-statistics BN
//     (GTA5's aspp-csg) is refused with several ranks (check_data_parallel_config).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "csg/distributed.h"
#include "csg/train.h"

namespace csg::train {

struct StepResult;

// Refuses (csg::Error naming the flag and the fix) a configuration that several ranks cannot
// run equivalently to one: a global batch that does not split evenly, a head whose BN trains.
void check_data_parallel_config(const Config& cfg, int ranks);

class DataParallel {
 public:
  DataParallel();  // one process
  // `params`: every parameter the optimiser updates, in a fixed order (the same on every rank).
  DataParallel(dist::Communicator& comm, const std::vector<Tensor>& params);

  int rank() const { return comm_->rank(); }
  int ranks() const { return comm_->size(); }
  bool is_root() const { return comm_->rank() == 0; }
  dist::Communicator& comm() { return *comm_; }

  // loss.backward(); with several ranks, every gradient is then the mean over the ranks.
  void backward(const Tensor& loss);
  // The keys of every rank in the single-process batch's order. keys [G*n, D] holds G groups
  // (dense NCE's patches, patch-major) of this rank's n samples; the result [G*ranks*n, D]
  // holds, group by group, rank 0's n rows, then rank 1's, ...
  Tensor gather_keys(const Tensor& keys, int64_t groups);
  // The factor that makes this rank's task loss (a mean over its shard's labelled pixels) its
  // share of the global batch's mean: labelled(this rank) x ranks / labelled(all ranks). 1 for
  // classification, where every shard has the same number of labels. `labelled_everywhere`, when
  // given, receives the labelled pixels of the whole global batch (segmentation labels only).
  double task_loss_share(const Tensor& labels, int64_t ignore_index, int64_t* labelled_everywhere = nullptr);
  // Averages the step's figures over the ranks (the global batch's losses) and returns the signal
  // that asks every rank to stop after this step (0: none): `signal_here` is this rank's (SIGINT,
  // SIGTERM or 0); when ranks got different ones, SIGTERM (a scheduler ending the job) wins.
  int average_and_agree_stop(StepResult& r, int signal_here);

 private:
  dist::Communicator* comm_;
  std::unique_ptr<dist::GradientAverager> grads_;
  bool local_keys_only_ = false;  // CSG_DEBUG_LOCAL_KEYS=1: a test proves the gather matters
};

// The single-process step's DataParallel (the default of csg_step).
DataParallel& one_process();

// Runs `fn` on rank 0 only (run folder, config.json) and returns its text on every rank; an
// error on rank 0 is raised on every rank, so none waits for it.
std::string on_root(dist::Communicator& comm, const std::function<std::string()>& fn);

}  // namespace csg::train
