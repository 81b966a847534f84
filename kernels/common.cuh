// kernels/common.cuh — what every .cu file needs: error checks that name file and line,
// the current stream and library handles, grid arithmetic and scratch workspace.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>

#include "csg/error.h"

namespace csg::kernels {

[[noreturn]] void cuda_fail(const char* what, const char* detail, const char* file, int line);
// The same for a cudaError_t: adds its name and what to do (CSG_CUDA_SYNC=1 after a fault,
// CUDA_ARCH for a missing kernel image).
[[noreturn]] void cuda_error_fail(const char* what, cudaError_t err, const char* file, int line);
// After a launch of `kernel` (kernels/runtime.h; synchronises under CSG_CUDA_SYNC=1).
void check_launch(const char* kernel, const char* file, int line);

// The stream every launcher uses, and the cuBLAS / cuDNN handles bound to it.
cudaStream_t stream();
cublasHandle_t cublas();
cudnnHandle_t cudnn();

constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 32 ? (blocks > 0 ? blocks : 1) : 65535 * 32);
}

// Scratch memory from the caching allocator, freed at scope exit (cuDNN workspaces, partials).
class Workspace {
 public:
  explicit Workspace(size_t nbytes);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t size() const { return size_; }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace csg::kernels

#define CSG_CUDA_CHECK(expr)                                                                \
  do {                                                                                      \
    cudaError_t err_ = (expr);                                                              \
    if (err_ != cudaSuccess)                                                                \
      ::csg::kernels::cuda_error_fail(#expr, err_, __FILE__, __LINE__);                      \
  } while (0)

#define CSG_CUBLAS_CHECK(expr)                                                              \
  do {                                                                                      \
    cublasStatus_t st_ = (expr);                                                            \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      ::csg::kernels::cuda_fail(#expr, cublasGetStatusString(st_), __FILE__, __LINE__);     \
  } while (0)

#define CSG_CUDNN_CHECK(expr)                                                               \
  do {                                                                                      \
    cudnnStatus_t st_ = (expr);                                                             \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                        \
      ::csg::kernels::cuda_fail(#expr, cudnnGetErrorString(st_), __FILE__, __LINE__);       \
  } while (0)

// After a kernel launch: reports a bad launch configuration at the launch site, naming the
// kernel; with CSG_CUDA_SYNC=1 also a fault while the kernel ran.
#define CSG_KERNEL_CHECK(kernel) ::csg::kernels::check_launch(kernel, __FILE__, __LINE__)

// Grid-stride loop over [0, n).
#define CSG_KERNEL_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)blockDim.x * gridDim.x)
