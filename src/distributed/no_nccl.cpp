// src/distributed/no_nccl.cpp — a build without NCCL: CUDA tensors cannot cross ranks; the
// local GPU is still chosen per rank when CUDA is built.
#ifdef CSG_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "src/distributed/backends.h"

namespace csg::dist {

std::unique_ptr<DeviceChannel> make_nccl_channel(Communicator&) {
  CSG_FAIL("training on CUDA across ranks needs NCCL, and this csg was built without it (make prints `NCCL ✗` "
           "with the reason): build with CUDA, MPI and nccl.h under CUDA_HOME/include, or use --device cpu");
}

bool select_local_gpu(int local_rank) {
#ifdef CSG_WITH_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return false;
  CSG_CHECK(local_rank < count, "local rank ", local_rank, " has no GPU of its own: this machine has ", count);
  CSG_CHECK(cudaSetDevice(local_rank) == cudaSuccess, "cudaSetDevice(", local_rank, ") failed");
  return true;
#else
  (void)local_rank;
  return false;
#endif
}

}  // namespace csg::dist
