// kernels/runtime.cu — device discovery, the caching allocator, the stream and library
// handles, launch checks, deferred status checks and host<->device copies.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/common.cuh"
#include "kernels/runtime.h"

namespace csg::kernels {

namespace {
// Errors after which the context is unusable: a kernel faulted, earlier than the call that
// reports it (launches are asynchronous).
bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
      return true;
    default:
      return false;
  }
}

// What to do about an error, appended to its report.
std::string advice(cudaError_t e) {
  if (e == cudaErrorNoKernelImageForDevice)
    return " (this GPU's architecture was not compiled in: rebuild with its compute capability, e.g. "
           "make CUDA_ARCH=86 for compute capability 8.6; `csg info` names the GPU's and the build's)";
  if (is_sticky(e) && !sync_after_launch())
    return " (a kernel faulted earlier and the CUDA context is now unusable; rerun with CSG_CUDA_SYNC=1 to name "
           "the kernel)";
  if (is_sticky(e)) return " (the CUDA context is now unusable; restart the process)";
  return "";
}
}  // namespace

// Launched never: cudaFuncGetAttributes on it says whether the build holds code this GPU runs.
__global__ void architecture_probe_kernel() {}

void cuda_fail(const char* what, const char* detail, const char* file, int line) {
  ::csg::detail::fail(file, line, ::csg::detail::cat("CUDA error in ", what, ": ", detail));
}

void cuda_error_fail(const char* what, cudaError_t err, const char* file, int line) {
  ::csg::detail::fail(file, line, ::csg::detail::cat("CUDA error in ", what, ": ", cudaGetErrorString(err), " (",
                                                     cudaGetErrorName(err), ")", advice(err)));
}

CudaProbe probe_device() {
  CudaProbe p;
  cudaDriverGetVersion(&p.driver_version);  // 0 when no driver is installed
  cudaRuntimeGetVersion(&p.runtime_version);
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the error so later queries start clean
    p.error = cudaGetErrorString(err);
    if (p.driver_version == 0)
      p.result = CudaProbe::Result::NoDriver;
    else if (err == cudaErrorInsufficientDriver)
      p.result = CudaProbe::Result::DriverTooOld;
    else if (err == cudaErrorNoDevice)
      p.result = CudaProbe::Result::NoDevice;
    else
      p.result = CudaProbe::Result::Error;
    return p;
  }
  if (n == 0) {
    p.result = CudaProbe::Result::NoDevice;
    return p;
  }
  cudaDeviceProp prop{};
  const cudaError_t perr = cudaGetDeviceProperties(&prop, 0);
  if (perr != cudaSuccess) {
    cudaGetLastError();
    p.result = CudaProbe::Result::Error;
    p.error = cudaGetErrorString(perr);
    return p;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s, %.1f GiB, compute capability %d.%d", prop.name, prop.totalGlobalMem / 1073741824.0,
           prop.major, prop.minor);
  p.device = buf;
  p.compute_major = prop.major;
  p.compute_minor = prop.minor;
  // A GPU older than every architecture compiled in (or newer than them with no PTX that fits)
  // is found here, at start-up, instead of as "no kernel image" inside the first step.
  cudaFuncAttributes attr{};
  const cudaError_t ferr = cudaFuncGetAttributes(&attr, architecture_probe_kernel);
  if (ferr == cudaErrorNoKernelImageForDevice || ferr == cudaErrorInvalidDeviceFunction) {
    cudaGetLastError();
    p.result = CudaProbe::Result::NotBuiltFor;
    p.error = cudaGetErrorString(ferr);
    return p;
  }
  p.result = CudaProbe::Result::Ok;
  return p;
}

// ---- the stream and handles ----------------------------------------------------------------
namespace {
struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
};
Context& ctx() {
  static Context c = [] {
    Context k;
    CSG_CUDA_CHECK(cudaStreamCreateWithFlags(&k.stream, cudaStreamNonBlocking));
    CSG_CUBLAS_CHECK(cublasCreate(&k.cublas));
    CSG_CUBLAS_CHECK(cublasSetStream(k.cublas, k.stream));
    CSG_CUDNN_CHECK(cudnnCreate(&k.cudnn));
    CSG_CUDNN_CHECK(cudnnSetStream(k.cudnn, k.stream));
    return k;
  }();
  return c;
}
}  // namespace

cudaStream_t stream() { return ctx().stream; }
cublasHandle_t cublas() { return ctx().cublas; }
cudnnHandle_t cudnn() { return ctx().cudnn; }


// ---- launch checks -------------------------------------------------------------------------
bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("CSG_CUDA_SYNC");
    return v && std::string(v) == "1";
  }();
  return on;
}

std::string launch_failure_message(const char* kernel, const char* error, bool synchronised) {
  return ::csg::detail::cat("CUDA kernel ", kernel, synchronised ? " failed while running: " : " failed to launch: ",
                            error,
                            synchronised ? " (reported by CSG_CUDA_SYNC=1, which waits for every kernel)"
                                         : " (set CSG_CUDA_SYNC=1 to check each kernel as it finishes)");
}

void check_launch(const char* kernel, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  bool synchronised = false;
  if (err == cudaSuccess && sync_after_launch()) {
    err = cudaStreamSynchronize(stream());
    synchronised = true;
  }
  if (err != cudaSuccess)
    ::csg::detail::fail(file, line,
                        launch_failure_message(kernel, ::csg::detail::cat(cudaGetErrorString(err), " (",
                                                                          cudaGetErrorName(err), ")", advice(err))
                                                           .c_str(),
                                               synchronised));
}

// ---- caching allocator ---------------------------------------------------------------------
void fail_device_alloc(int code, size_t nbytes, size_t in_use) {
  const cudaError_t err = static_cast<cudaError_t>(code);
  if (err != cudaErrorMemoryAllocation)
    ::csg::detail::fail(__FILE__, __LINE__,
                        ::csg::detail::cat("CUDA error in cudaMalloc(", nbytes / 1048576.0, " MiB): ",
                                           cudaGetErrorString(err), " (", cudaGetErrorName(err), ")", advice(err)));
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) cudaGetLastError();
  throw OutOfMemory(::csg::detail::cat("CUDA out of memory: asked for ", nbytes / 1048576.0, " MiB; csg holds ",
                                       in_use / 1048576.0, " MiB in tensors; the device has ", free_b / 1048576.0,
                                       " MiB free of ", total_b / 1048576.0,
                                       " MiB. Try a smaller --batch-size or a smaller crop."));
}

// Requests are rounded up to a size class (512 B granularity below 1 MiB, 2 MiB above) and
// freed blocks wait in a per-class free list. Every kernel runs on the one stream, so a block
// freed by one op can be reused by the next without synchronisation.
namespace {
struct Allocator {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  std::unordered_map<void*, size_t> live;            // pointer -> size class
  cuda::MemoryStats stats;

  static size_t size_class(size_t n) {
    if (n == 0) n = 1;
    const size_t small = 512, large = 2u << 20;
    return n < (1u << 20) ? (n + small - 1) / small * small : (n + large - 1) / large * large;
  }
  void release_cache() {
    for (auto& [sz, v] : free_blocks)
      for (void* p : v) {
        cudaFree(p);
        stats.cached -= sz;
      }
    free_blocks.clear();
  }
  void* alloc(size_t nbytes) {
    std::lock_guard<std::mutex> lock(mu);
    size_t sz = size_class(nbytes);
    void* p = nullptr;
    auto it = free_blocks.find(sz);
    if (it != free_blocks.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats.cached -= sz;
    } else {
      cudaError_t err = cudaMalloc(&p, sz);
      if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
        cudaGetLastError();
        cudaStreamSynchronize(stream());
        release_cache();
        err = cudaMalloc(&p, sz);
      }
      if (err != cudaSuccess) {
        if (!is_sticky(err)) cudaGetLastError();  // a sticky error cannot be cleared anyway
        fail_device_alloc(err, nbytes, stats.in_use);
      }
      ++stats.device_allocs;
    }
    live[p] = sz;
    stats.in_use += sz;
    if (stats.in_use > stats.peak_in_use) stats.peak_in_use = stats.in_use;
    return p;
  }
  // Takes p out of the books; returns its size class, 0 if it is not ours.
  size_t forget(void* p) {
    auto it = live.find(p);
    if (it == live.end()) return 0;
    const size_t sz = it->second;
    live.erase(it);
    stats.in_use -= sz;
    return sz;
  }
  void free(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu);
    const size_t sz = forget(p);
    if (!sz) return;  // not ours: ignore rather than corrupt the free lists
    stats.cached += sz;
    free_blocks[sz].push_back(p);
  }
  void release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu);
    if (!forget(p)) return;
    cudaStreamSynchronize(stream());  // the block may still be in use by queued work
    cudaFree(p);
  }
};
Allocator& allocator() {
  // Leaked on purpose: tensors destroyed during static destruction may still free into it.
  static Allocator* a = new Allocator();
  return *a;
}
}  // namespace

void* device_alloc(size_t nbytes) { return allocator().alloc(nbytes); }
void device_free(void* p) { allocator().free(p); }
void device_release(void* p) { allocator().release(p); }
cuda::MemoryStats memory_stats() {
  std::lock_guard<std::mutex> lock(allocator().mu);
  return allocator().stats;
}
void reset_peak_memory() {
  std::lock_guard<std::mutex> lock(allocator().mu);
  allocator().stats.peak_in_use = allocator().stats.in_use;
}
void empty_cache() {
  CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  std::lock_guard<std::mutex> lock(allocator().mu);
  allocator().release_cache();
}

Workspace::Workspace(size_t nbytes) : size_(nbytes) {
  if (nbytes) ptr_ = device_alloc(nbytes);
}
Workspace::~Workspace() { device_free(ptr_); }

// ---- deferred status checks ----------------------------------------------------------------
namespace {
struct Deferred {
  void* device;
  size_t nbytes;
  std::function<void(const void*)> check;
};
std::mutex g_deferred_mu;
std::vector<Deferred>& deferred() {
  static auto* v = new std::vector<Deferred>();  // leaked, as the allocator
  return *v;
}
}  // namespace

void* deferred_status(size_t nbytes, std::function<void(const void*)> check) {
  void* p = device_alloc(nbytes);
  CSG_CUDA_CHECK(cudaMemsetAsync(p, 0, nbytes, stream()));
  std::lock_guard<std::mutex> lock(g_deferred_mu);
  deferred().push_back({p, nbytes, std::move(check)});
  return p;
}

void run_deferred_checks() {
  std::vector<Deferred> pending;
  {
    std::lock_guard<std::mutex> lock(g_deferred_mu);
    if (deferred().empty()) return;
    pending.swap(deferred());
  }
  // One copy each into host memory; the caller has already waited for the stream.
  std::vector<std::vector<unsigned char>> bytes(pending.size());
  cudaError_t err = cudaSuccess;
  for (size_t i = 0; i < pending.size(); ++i) {
    bytes[i].resize(pending[i].nbytes);
    if (err == cudaSuccess)
      err = cudaMemcpyAsync(bytes[i].data(), pending[i].device, pending[i].nbytes, cudaMemcpyDeviceToHost, stream());
  }
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream());
  for (const Deferred& d : pending) device_free(d.device);
  if (err != cudaSuccess) cuda_error_fail("reading back deferred status", err, __FILE__, __LINE__);
  for (size_t i = 0; i < pending.size(); ++i) pending[i].check(bytes[i].data());
}

// ---- copies --------------------------------------------------------------------------------
// Pinned staging for host-to-device copies: a few slots used in turn; a slot is reused once
// the event recorded behind its last copy has passed, so up to kSlots copies are in flight
// while the host goes on (a training step uploads three tensors: two views and the labels).
namespace {
struct Staging {
  static constexpr int kSlots = 4;
  struct Slot {
    void* host = nullptr;
    size_t size = 0;
    cudaEvent_t done = nullptr;
  };
  std::mutex mu;
  Slot slots[kSlots];
  int next = 0;

  // A pinned buffer of at least n bytes whose previous copy has finished; null if pinned
  // memory cannot be had (the caller then copies synchronously).
  Slot* acquire(size_t n) {
    Slot& s = slots[next];
    next = (next + 1) % kSlots;
    if (s.done) CSG_CUDA_CHECK(cudaEventSynchronize(s.done));
    else CSG_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    if (s.size < n) {
      if (s.host) cudaFreeHost(s.host);
      s.host = nullptr;
      s.size = 0;
      const size_t want = std::max<size_t>(n, size_t(1) << 20);
      if (cudaHostAlloc(&s.host, want, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError();
        s.host = nullptr;
        return nullptr;
      }
      s.size = want;
    }
    return &s;
  }
};
Staging& staging() {
  static auto* s = new Staging();  // leaked: pinned memory goes with the process
  return *s;
}
}  // namespace

void copy_host_to_device(void* dst, const void* src, size_t n) {
  if (n == 0) return;
  std::lock_guard<std::mutex> lock(staging().mu);
  Staging::Slot* slot = staging().acquire(n);
  if (!slot) {  // no pinned memory: the pageable copy, finished before src may be freed
    CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream()));
    CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));
    return;
  }
  std::memcpy(slot->host, src, n);
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, slot->host, n, cudaMemcpyHostToDevice, stream()));
  CSG_CUDA_CHECK(cudaEventRecord(slot->done, stream()));
}
void copy_device_to_host(void* dst, const void* src, size_t n) {
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream()));
  CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  run_deferred_checks();
}
void copy_device_to_device(void* dst, const void* src, size_t n) {
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream()));
}
void synchronize() {
  CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  run_deferred_checks();
}

}  // namespace csg::kernels
