// src/distributed/backends.h — what the implementations of csg/distributed.h provide each
// other. One file per backend and build: mpi.cpp (or no_mpi.cpp), nccl.cpp (or no_nccl.cpp).
#pragma once
#include <memory>

#include "csg/distributed.h"

namespace csg::dist {

// The seconds a rank waits for the others in one call (CSG_DIST_TIMEOUT_S, default 600).
double timeout_seconds();

// MPI's world (mpi.cpp); in a build without MPI, an error unless mpirun started one process.
std::unique_ptr<Communicator> make_mpi_world();
// After a failure: MPI_Abort (several ranks), so no rank waits for this one; else MPI_Finalize.
void shutdown_mpi(bool success);

// CUDA tensors between the ranks (nccl.cpp). `host` carries NCCL's id from rank 0.
class DeviceChannel {
 public:
  virtual ~DeviceChannel() = default;
  virtual std::unique_ptr<PendingReduce> start_all_reduce_sum(const Tensor& buffer) = 0;
  virtual Tensor all_gather(const Tensor& x) = 0;
};
// Throws in a build without NCCL, saying how to get it.
std::unique_ptr<DeviceChannel> make_nccl_channel(Communicator& host);
// Makes GPU `local_rank` this process's device (before any CUDA tensor exists); false when
// the build has no CUDA or the machine no GPU. Refuses a rank without a GPU of its own.
bool select_local_gpu(int local_rank);

}  // namespace csg::dist
