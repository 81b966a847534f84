// csg/cuda.h — what the program can ask about the CUDA backend without CUDA headers.
//
// A build without nvcc still has these functions; they report that CUDA is absent.
#pragma once
#include <cstddef>
#include <string>

namespace csg::cuda {

bool built_with_cuda();      // compiled with nvcc (CSG_WITH_CUDA)
// The GPU architectures compiled in (Makefile CUDA_ARCH): "sm_75 sm_80 ... + compute_90 PTX";
// empty in a CPU-only build.
std::string built_architectures();
bool available();            // built with CUDA and a usable device is present
// A GPU is present but this build holds no code it can run (its compute capability is not
// among built_architectures()): status() names both and the `make CUDA_ARCH=..` that fixes it.
bool gpu_not_built_for();
// One line: the device (name, memory, compute capability) and which of the build's codes it
// runs, the CUDA version the driver supports and the runtime's; or why CUDA is unavailable and
// what to do (no driver, a driver older than the runtime, no device, a GPU the build does not cover).
std::string status();
// Waits for all work on the current stream, then runs the checks deferred to that point
// (cross_entropy's target check): a bad target throws here or at the next read-back.
void synchronize();

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

// TF32 tensor cores for cuBLAS's f32 matmuls on Ampere and later (products with a ~10-bit
// mantissa; off by default, as torch.backends.cuda.matmul.allow_tf32). A device setting, taking
// effect at the next matmul; a CPU-only build keeps it and has nothing to apply it to. A
// convolution's TF32 is not here: it travels with the call (csg::ConvNumerics::tf32, csg/ops.h).
void set_matmul_tf32(bool on);
bool matmul_tf32();

// Whether this build and device can run BF16 convolutions (csg::ConvPrecision::Bf16, `csg train
// --precision bf16 --device cuda`): cuDNN's need compute capability 8.0 (Ampere) or later; else
// false with the reason in *why. Checked where a model's numerics are chosen.
bool has_bf16_convolutions(std::string* why);

}  // namespace csg::cuda
