// src/distributed/mpi.cpp — the process group of an `mpirun` launch: host numbers and CPU
// tensors by MPI's non-blocking collectives, each polled against a deadline (a rank that died
// or hangs turns into an error on the others, not a hang); CUDA tensors through NCCL.
#define OMPI_SKIP_MPICXX 1  // the C API only
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "csg/cuda.h"
#include "src/distributed/backends.h"

namespace csg::dist {

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<size_t>(len));
}

#define CSG_MPI_CALL(what, call)                                                                  \
  do {                                                                                            \
    const int csg_mpi_rc = (call);                                                                \
    CSG_CHECK(csg_mpi_rc == MPI_SUCCESS, "MPI ", what, " failed", rank_suffix(), ": ", mpi_error_text(csg_mpi_rc)); \
  } while (0)

// Polls `request` until it completes or the deadline passes. Yields first (a fast collective
// costs microseconds), then sleeps briefly so a waiting rank leaves the cores to the others.
void wait_for(MPI_Request& request, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  const double limit = timeout_seconds();
  for (int polls = 0;; ++polls) {
    int done = 0;
    CSG_MPI_CALL(what, MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CSG_CHECK(waited < limit, what, ": waited ", waited, " s for the other ranks", rank_suffix(),
              "; one of them stopped or hangs (its output above says why). CSG_DIST_TIMEOUT_S sets the limit");
    if (polls < 1000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

MPI_Datatype mpi_type(const Tensor& t, const char* what) {
  switch (t.dtype()) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I64: return MPI_INT64_T;
    default: CSG_FAIL(what, ": ", t.describe(), " has a dtype MPI collectives are not wired for");
  }
}

class MpiReduce : public PendingReduce {
 public:
  explicit MpiReduce(MPI_Request r) : request_(r) {}
  void poll() override {
    if (request_ == MPI_REQUEST_NULL) return;
    int done = 0;
    CSG_MPI_CALL("gradient all-reduce", MPI_Test(&request_, &done, MPI_STATUS_IGNORE));
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) wait_for(request_, "gradient all-reduce");
  }

 private:
  MPI_Request request_;
};

class MpiWorld : public Communicator {
 public:
  MpiWorld() {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
      int provided = 0;  // MPI is called from the training thread only (loader threads never call it)
      CSG_MPI_CALL("MPI_Init_thread", MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors become csg::Error
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    gpu_ = select_local_gpu(local_rank());
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return gpu_ ? "MPI + NCCL" : "MPI"; }

  void all_reduce_sum(std::vector<double>& v) override {
    MPI_Request r;
    CSG_MPI_CALL("all-reduce", MPI_Iallreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_SUM,
                                              MPI_COMM_WORLD, &r));
    wait_for(r, "all-reduce of host numbers");
  }

  std::string broadcast_text(const std::string& text, int root) override {
    unsigned long long n = text.size();
    MPI_Request r;
    CSG_MPI_CALL("broadcast", MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD, &r));
    wait_for(r, "broadcast from rank 0");
    std::string out = rank_ == root ? text : std::string(static_cast<size_t>(n), '\0');
    if (n == 0) return out;
    CSG_MPI_CALL("broadcast", MPI_Ibcast(out.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD, &r));
    wait_for(r, "broadcast from rank 0");
    return out;
  }

  std::unique_ptr<PendingReduce> start_all_reduce_sum(const Tensor& buffer) override {
    if (buffer.is_cuda()) return device().start_all_reduce_sum(buffer);
    CSG_CHECK(buffer.is_contiguous() && buffer.numel() < (int64_t{1} << 31), "all-reduce: ", buffer.describe(),
              " must be contiguous with fewer than 2^31 elements");
    MPI_Request r;
    CSG_MPI_CALL("gradient all-reduce",
                 MPI_Iallreduce(MPI_IN_PLACE, buffer.raw_data(), static_cast<int>(buffer.numel()),
                                mpi_type(buffer, "all-reduce"), MPI_SUM, MPI_COMM_WORLD, &r));
    return std::make_unique<MpiReduce>(r);
  }

  Tensor all_gather(const Tensor& x_in) override {
    if (x_in.is_cuda()) return device().all_gather(x_in);
    Tensor x = x_in.contiguous();
    CSG_CHECK(x.dim() >= 1, "all_gather: ", x.describe(), " needs a leading row dimension");
    Shape shape = x.shape();
    shape[0] *= size_;
    Tensor out = empty(shape, x.options());
    MPI_Request r;
    const MPI_Datatype t = mpi_type(x, "all_gather");
    CSG_MPI_CALL("all-gather", MPI_Iallgather(x.raw_data(), static_cast<int>(x.numel()), t, out.raw_data(),
                                              static_cast<int>(x.numel()), t, MPI_COMM_WORLD, &r));
    wait_for(r, "all-gather of the keys");
    return out;
  }

  void barrier() override {
    MPI_Request r;
    CSG_MPI_CALL("barrier", MPI_Ibarrier(MPI_COMM_WORLD, &r));
    wait_for(r, "barrier");
  }

 private:
  DeviceChannel& device() {
    if (!nccl_) nccl_ = make_nccl_channel(*this);
    return *nccl_;
  }
  int rank_ = 0, size_ = 1;
  bool gpu_ = false;
  std::unique_ptr<DeviceChannel> nccl_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_world() { return std::make_unique<MpiWorld>(); }

void shutdown_mpi(bool success) {
  int ready = 0, finished = 0;
  MPI_Initialized(&ready);
  MPI_Finalized(&finished);
  if (!ready || finished) return;
  if (success) {
    MPI_Finalize();
  } else {
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);  // mpirun stops every rank and names this one
  }
}

}  // namespace csg::dist
