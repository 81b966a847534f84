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

// BF16 mixed precision of the f32 convolutions on CUDA (`csg train --precision bf16 --device
// cuda`, kernels/conv2d.h): cuDNN reads x, w and dy rounded to BF16 and accumulates in f32; the
// results, parameters, BN, GEMMs and losses stay f32. Off by default. has_bf16_convolutions says
// whether this build and device can (cuDNN's BF16 convolutions need compute capability 8.0,
// Ampere, or later), else why not; set_bf16_convolutions(true) throws that reason.
bool has_bf16_convolutions(std::string* why);
void set_bf16_convolutions(bool on);
bool bf16_convolutions();

// Deterministic mode (off by default): the same inputs and weights give bit-identical results
// run after run on the same GPU. cuDNN is restricted to algorithms it reports as deterministic
// (CUDNN_DETERMINISTIC; often slower) and bilinear upsampling's backward gathers instead of
// scattering with atomicAdd. Without it, cuDNN may pick non-deterministic algorithms (e.g.
// backward-filter/backward-data variants that accumulate with atomics) and upsample's backward
// adds in thread order, so CUDA training runs differ in the last bits and then drift apart.
// Applies to algorithms chosen after the call. The CPU backend is deterministic either way.
void set_deterministic(bool on);
bool deterministic();

}  // namespace csg::cuda
