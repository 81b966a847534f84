// src/distributed/nccl.cpp — CUDA tensors between the ranks with NCCL: one communicator per
// process on its local GPU, collectives on a side stream ordered after the compute stream by
// events, so a bucket's all-reduce overlaps the backward kernels that follow it. Every wait
// polls against the deadline and aborts the communicator when it passes (a dead rank never
// hangs the others).
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "src/distributed/backends.h"

namespace csg::kernels {
cudaStream_t stream();  // the compute stream (kernels/common.cuh, which needs nvcc)
}

namespace csg::dist {

namespace {

#define CSG_NCCL_CALL(what, call)                                                                         \
  do {                                                                                                    \
    const ncclResult_t csg_nccl_rc = (call);                                                              \
    CSG_CHECK(csg_nccl_rc == ncclSuccess || csg_nccl_rc == ncclInProgress, "NCCL ", what, " failed",      \
              rank_suffix(), ": ", ncclGetErrorString(csg_nccl_rc));                                      \
  } while (0)
#define CSG_CUDART_CALL(what, call)                                                                       \
  do {                                                                                                    \
    const cudaError_t csg_cuda_rc = (call);                                                               \
    CSG_CHECK(csg_cuda_rc == cudaSuccess, what, ": ", cudaGetErrorString(csg_cuda_rc), rank_suffix());    \
  } while (0)

ncclDataType_t nccl_type(const Tensor& t, const char* what) {
  switch (t.dtype()) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::I64: return ncclInt64;
    default: CSG_FAIL(what, ": ", t.describe(), " has a dtype NCCL collectives are not wired for");
  }
}

class NcclChannel : public DeviceChannel {
 public:
  explicit NcclChannel(Communicator& host) : size_(host.size()) {
    ncclUniqueId id{};
    if (host.rank() == 0) CSG_NCCL_CALL("ncclGetUniqueId", ncclGetUniqueId(&id));
    const std::string bytes = host.broadcast_text(std::string(reinterpret_cast<const char*>(&id), sizeof id));
    std::memcpy(&id, bytes.data(), sizeof id);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // initialisation and collectives return at once; we poll with a deadline
    CSG_NCCL_CALL("ncclCommInitRankConfig", ncclCommInitRankConfig(&comm_, size_, id, host.rank(), &config));
    await_comm("ncclCommInitRank");
    CSG_CUDART_CALL("cudaStreamCreateWithFlags", cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
  }
  ~NcclChannel() override {
    if (comm_) ncclCommDestroy(comm_);
    if (side_) cudaStreamDestroy(side_);
  }

  std::unique_ptr<PendingReduce> start_all_reduce_sum(const Tensor& buffer) override {
    CSG_CHECK(buffer.is_contiguous(), "all-reduce: ", buffer.describe(), " must be contiguous");
    after_compute();
    CSG_NCCL_CALL("ncclAllReduce", ncclAllReduce(buffer.raw_data(), buffer.raw_data(), buffer.numel(),
                                                 nccl_type(buffer, "all-reduce"), ncclSum, comm_, side_));
    return std::make_unique<Pending>(*this, record_on_side());
  }

  Tensor all_gather(const Tensor& x_in) override {
    Tensor x = x_in.contiguous();
    Shape shape = x.shape();
    shape[0] *= size_;
    Tensor out = empty(shape, x.options());
    after_compute();
    CSG_NCCL_CALL("ncclAllGather", ncclAllGather(x.raw_data(), out.raw_data(), x.numel(), nccl_type(x, "all_gather"),
                                                 comm_, side_));
    Pending(*this, record_on_side()).wait();
    return out;
  }

 private:
  class Pending : public PendingReduce {
   public:
    Pending(NcclChannel& ch, cudaEvent_t done) : ch_(ch), done_(done) {}
    ~Pending() override {
      if (done_) cudaEventDestroy(done_);
    }
    void wait() override {
      ch_.await_event(done_);
      // The compute stream (which reads the result next) is ordered after the collective.
      CSG_CUDART_CALL("cudaStreamWaitEvent", cudaStreamWaitEvent(kernels::stream(), done_, 0));
    }

   private:
    NcclChannel& ch_;
    cudaEvent_t done_;
  };

  // The side stream waits for everything queued so far on the compute stream (the gradients).
  void after_compute() {
    cudaEvent_t ready;
    CSG_CUDART_CALL("cudaEventCreate", cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    CSG_CUDART_CALL("cudaEventRecord", cudaEventRecord(ready, kernels::stream()));
    CSG_CUDART_CALL("cudaStreamWaitEvent", cudaStreamWaitEvent(side_, ready, 0));
    cudaEventDestroy(ready);  // released once the wait is satisfied
  }
  cudaEvent_t record_on_side() {
    cudaEvent_t done;
    CSG_CUDART_CALL("cudaEventCreate", cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    CSG_CUDART_CALL("cudaEventRecord", cudaEventRecord(done, side_));
    return done;
  }
  // Polls until `done` completes, checking NCCL's asynchronous errors; aborts at the deadline.
  void await_event(cudaEvent_t done) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return;
      CSG_CHECK(q == cudaErrorNotReady, "NCCL collective: ", cudaGetErrorString(q), rank_suffix());
      check_deadline("NCCL collective", start);
    }
  }
  void await_comm(const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      ncclResult_t state = ncclSuccess;
      CSG_NCCL_CALL(what, ncclCommGetAsyncError(comm_, &state));
      if (state == ncclSuccess) return;
      CSG_NCCL_CALL(what, state);
      check_deadline(what, start);
    }
  }
  void check_deadline(const char* what, std::chrono::steady_clock::time_point start) {
    ncclResult_t state = ncclSuccess;
    ncclCommGetAsyncError(comm_, &state);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (state != ncclSuccess && state != ncclInProgress) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      CSG_FAIL(what, rank_suffix(), ": ", ncclGetErrorString(state));
    }
    if (waited >= timeout_seconds()) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      CSG_FAIL(what, ": waited ", waited, " s for the other ranks", rank_suffix(),
               "; one of them stopped or hangs (its output above says why). CSG_DIST_TIMEOUT_S sets the limit");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

  int size_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t side_ = nullptr;
};

}  // namespace

std::unique_ptr<DeviceChannel> make_nccl_channel(Communicator& host) { return std::make_unique<NcclChannel>(host); }

bool select_local_gpu(int local_rank) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return false;
  CSG_CHECK(local_rank < count, "rank with local rank ", local_rank, " has no GPU of its own: this machine has ",
            count, "; start at most ", count, " processes per machine (mpirun -np / --map-by ppr:", count, ":node)");
  CSG_CUDART_CALL("cudaSetDevice", cudaSetDevice(local_rank));
  return true;
}

}  // namespace csg::dist
