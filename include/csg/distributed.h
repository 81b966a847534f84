// csg/distributed.h — data-parallel training across processes, as PyTorch's DDP: the processes
// ("ranks") are started by MPI (`mpirun -np N ./csg train ...`, on one machine or several),
// each computes on its shard of every batch, and they exchange what must stay equal:
// gradients (summed, then averaged), keys (gathered) and a few host numbers (stop flag, loss
// figures, evaluation counts).
//
// One interface, three implementations behind it:
//   - one process (no mpirun, or a build without MPI): every call is the identity;
//   - MPI (src/distributed/mpi.cpp): host numbers and CPU tensors, by MPI collectives;
//   - NCCL (src/distributed/nccl.cpp): CUDA tensors, on a side stream, on each rank's local GPU
//     (OMPI_COMM_WORLD_LOCAL_RANK); MPI still starts the processes and carries host numbers.
// Every blocking call waits at most CSG_DIST_TIMEOUT_S seconds (default 600) for the other
// ranks, then throws csg::Error naming the call: a rank that died or hangs never hangs the rest.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg::dist {

// An all-reduce in flight. wait() returns once the buffer holds the sum over ranks (on CUDA:
// once the compute stream is ordered after it); poll() lets a CPU reduction progress.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual void poll() {}
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "one process", "MPI", "MPI + NCCL"

  // Host numbers: element-wise sum over ranks, in place (counts and flags are exact as doubles
  // up to 2^53). Every rank passes the same length.
  virtual void all_reduce_sum(std::vector<double>& values) = 0;
  // The text `root` passes, on every rank.
  virtual std::string broadcast_text(const std::string& text, int root = 0) = 0;
  // Starts summing `buffer` (contiguous float32, same length on every rank) in place over the
  // ranks, on its own device. Calls must be made in the same order on every rank.
  virtual std::unique_ptr<PendingReduce> start_all_reduce_sum(const Tensor& buffer) = 0;
  // x [n, ...] (the same shape on every rank) -> [size * n, ...]: rank 0's rows, then rank 1's, ...
  virtual Tensor all_gather(const Tensor& x) = 0;
  virtual void barrier() = 0;
};

// The identity communicator of one process (what world() is without mpirun).
Communicator& single_process();
// The processes this program was started with: MPI's world when launched by mpirun (built with
// MPI), else one process. The first call sets it up; under mpirun with CUDA built and a GPU
// present it also selects the rank's local GPU, so call it before any CUDA tensor exists.
Communicator& world();
// True when started by mpirun (OMPI_COMM_WORLD_SIZE / PMIX_RANK set): world() will be MPI's.
bool launched_by_mpi();
// The rank among the processes of this machine (OMPI_COMM_WORLD_LOCAL_RANK; 0 without mpirun).
int local_rank();
// " (rank R)" in a run of several processes, else "": for messages.
std::string rank_suffix();
// Ends the process group before exit: MPI_Finalize after success; after a failure in a run of
// several processes, MPI_Abort, so that the others stop at once instead of waiting for this one.
void shutdown(bool success);

// Averages the gradients of `params` over the ranks during backward, as DDP does. Parameters
// are grouped into buckets of about `bucket_bytes` in reverse order (backward produces the
// last layers' gradients first); a bucket's all-reduce starts as soon as backward has finished
// every gradient in it (csg/autograd.h LeafGradientHook), overlapping the rest of backward, and
// buckets start in the same order on every rank.
//
// Averaging rule: each rank's loss is the mean over its own shard of the global batch, and the
// shards are equal (global batch = ranks x shard). The single-process gradient of the global
// mean is then (1/ranks) x the sum of the ranks' gradients: that is what backward() leaves in
// every parameter's .grad, on every rank.
class GradientAverager {
 public:
  GradientAverager(Communicator& comm, std::vector<Tensor> params, size_t bucket_bytes = 25u << 20);
  // loss.backward(), then every parameter's gradient averaged over the ranks. A parameter that
  // got no gradient (unused this step, on every rank) keeps none.
  void backward(const Tensor& loss);
  size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    size_t ready = 0;
  };
  void on_gradient_ready(size_t param);
  void launch_in_order();
  Communicator& comm_;
  std::vector<Tensor> params_;
  std::vector<size_t> bucket_of_;  // param index -> bucket
  std::vector<Bucket> buckets_;
  // Per backward: flat buffers and reductions in flight, by bucket.
  std::vector<Tensor> flat_;
  std::vector<std::unique_ptr<PendingReduce>> pending_;
  std::vector<bool> complete_;
  size_t next_launch_ = 0;
};

}  // namespace csg::dist
