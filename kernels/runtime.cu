// kernels/runtime.cu — device discovery, the caching allocator, the stream and library
// handles, and host<->device copies.
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/common.cuh"
#include "kernels/runtime.h"

namespace csg::kernels {

void cuda_fail(const char* what, const char* detail, const char* file, int line) {
  ::csg::detail::fail(file, line, ::csg::detail::cat("CUDA error in ", what, ": ", detail));
}

bool device_present(std::string* why) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later queries start clean
    if (why) *why = cudaGetErrorString(err);
    return false;
  }
  if (n == 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  return true;
}

std::string device_description() {
  cudaDeviceProp p{};
  CSG_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  char buf[256];
  snprintf(buf, sizeof buf, "%s, %.1f GiB, compute capability %d.%d", p.name,
           p.totalGlobalMem / 1073741824.0, p.major, p.minor);
  return buf;
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

// ---- caching allocator ---------------------------------------------------------------------
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
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        throw OutOfMemory(::csg::detail::cat(
            "CUDA out of memory: asked for ", nbytes / 1048576.0, " MiB; csg holds ", stats.in_use / 1048576.0,
            " MiB in tensors; the device has ", free_b / 1048576.0, " MiB free of ", total_b / 1048576.0,
            " MiB (", cudaGetErrorString(err), "). Try a smaller --batch-size or a smaller crop."));
      }
      ++stats.device_allocs;
    }
    live[p] = sz;
    stats.in_use += sz;
    if (stats.in_use > stats.peak_in_use) stats.peak_in_use = stats.in_use;
    return p;
  }
  void free(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu);
    auto it = live.find(p);
    if (it == live.end()) return;  // not ours: ignore rather than corrupt the free lists
    size_t sz = it->second;
    live.erase(it);
    stats.in_use -= sz;
    stats.cached += sz;
    free_blocks[sz].push_back(p);
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

// ---- copies --------------------------------------------------------------------------------
void copy_host_to_device(void* dst, const void* src, size_t n) {
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream()));
  CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may be freed right after
}
void copy_device_to_host(void* dst, const void* src, size_t n) {
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream()));
  CSG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_device_to_device(void* dst, const void* src, size_t n) {
  CSG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream()));
}
void synchronize() { CSG_CUDA_CHECK(cudaStreamSynchronize(stream())); }

}  // namespace csg::kernels
