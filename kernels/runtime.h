// kernels/runtime.h — the CUDA runtime as the rest of csg sees it: plain C++ signatures,
// no CUDA headers, so src/ compiles with g++ alone. Implemented in kernels/runtime.cu.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "csg/cuda.h"

namespace csg::kernels {

// Returns true if a device can be used; otherwise fills *why.
bool device_present(std::string* why);
std::string device_description();

// Caching allocator: blocks are kept after free and reused for requests of the same
// size class, so a steady-state training step makes no cudaMalloc call.
void* device_alloc(size_t nbytes);
void device_free(void* p);
cuda::MemoryStats memory_stats();
void reset_peak_memory();
void empty_cache();

void copy_host_to_device(void* dst, const void* src, size_t nbytes);
void copy_device_to_host(void* dst, const void* src, size_t nbytes);
void copy_device_to_device(void* dst, const void* src, size_t nbytes);
void synchronize();

}  // namespace csg::kernels
