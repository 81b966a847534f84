// csg/cuda.h — what the program can ask about the CUDA backend without CUDA headers.
//
// A build without nvcc still has these functions; they report that CUDA is absent.
#pragma once
#include <cstddef>
#include <string>

namespace csg::cuda {

bool built_with_cuda();      // compiled with nvcc (CSG_WITH_CUDA)
bool available();            // built with CUDA and a usable device is present
std::string status();        // one line: device name and memory, or why CUDA is unavailable
void synchronize();          // waits for all work on the current stream

// Caching allocator statistics (bytes).
struct MemoryStats {
  size_t in_use = 0;       // handed out to tensors now
  size_t cached = 0;       // held by the cache, free for reuse
  size_t peak_in_use = 0;  // high-water mark since the last reset
  size_t device_allocs = 0;  // number of cudaMalloc calls so far
};
MemoryStats memory_stats();
void reset_peak_memory();
void empty_cache();  // returns cached blocks to the driver

// TF32 tensor cores for float32 work on Ampere and later (products with a ~10-bit mantissa):
// `convolutions` (cuDNN; on by default, as torch.backends.cudnn.allow_tf32) and `matmuls`
// (cuBLAS; off by default, as torch.backends.cuda.matmul.allow_tf32). Takes effect for the
// next op; a CPU-only build keeps the setting and has nothing to apply it to.
struct Tf32Settings {
  bool convolutions = true;
  bool matmuls = false;
};
void set_tf32(const Tf32Settings& settings);
Tf32Settings tf32();

}  // namespace csg::cuda
