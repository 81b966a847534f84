// kernels/runtime.h — the CUDA runtime as the rest of csg sees it: plain C++ signatures,
// no CUDA headers, so src/ compiles with g++ alone. Implemented in kernels/runtime.cu.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "csg/cuda.h"
#include "src/core/cuda_probe.h"

namespace csg::kernels {

// Asks the runtime for a device: the driver and runtime versions and, when one can be
// used, its description (asked once per process by csg::cuda).
CudaProbe probe_device();

// Caching allocator: blocks are kept after free and reused for requests of the same
// size class, so a steady-state training step makes no cudaMalloc call.
void* device_alloc(size_t nbytes);
void device_free(void* p);
// Returns a block to the driver at once instead of caching it (large one-off scratch, such
// as cuDNN's algorithm-search workspace). Waits for the stream first.
void device_release(void* p);
cuda::MemoryStats memory_stats();
void reset_peak_memory();
void empty_cache();

// The error a failed cudaMalloc becomes: OutOfMemory (with the sizes and the fix) only for
// cudaErrorMemoryAllocation; any other code (an earlier kernel's fault, a lost device) a
// plain csg::Error naming it. `cuda_error` is the cudaError_t value.
[[noreturn]] void fail_device_alloc(int cuda_error, size_t nbytes, size_t in_use);

// After each kernel launch (CSG_KERNEL_CHECK): reports a bad launch with the kernel's name;
// with CSG_CUDA_SYNC=1 in the environment it also waits for the kernel, so that a fault
// inside it is reported with its name instead of at some later call.
void check_launch(const char* kernel, const char* file, int line);
bool sync_after_launch();  // CSG_CUDA_SYNC=1, read once
std::string launch_failure_message(const char* kernel, const char* error, bool synchronised);

// Host-to-device copies are asynchronous: the bytes are staged in pinned host memory first,
// so `src` may be freed when the call returns. Device-to-host copies wait for the stream.
void copy_host_to_device(void* dst, const void* src, size_t nbytes);
void copy_device_to_host(void* dst, const void* src, size_t nbytes);
void copy_device_to_device(void* dst, const void* src, size_t nbytes);
void synchronize();

// A status that kernels write on the device and the host checks later, at the next point it
// waits for the stream anyway (copy_device_to_host, synchronize), instead of a sync of its own.
// Returns a zero-filled device buffer of `nbytes`; at that point its bytes are copied back and
// handed to `check`, which may throw (the first error is thrown, after every buffer is freed).
void* deferred_status(size_t nbytes, std::function<void(const void* host_bytes)> check);
void run_deferred_checks();

}  // namespace csg::kernels
