// src/core/cuda.cpp — csg::cuda queries; a CPU-only build answers "unavailable".
#include "csg/cuda.h"

#include "csg/error.h"
#include "src/core/cuda_probe.h"

#ifdef CSG_WITH_CUDA
#include "kernels/blas.h"
#include "kernels/runtime.h"
#endif

// The architectures the Makefile compiled the kernels for (CUDA_ARCH), passed to this file alone.
#ifndef CSG_CUDA_SASS_ARCHS
#define CSG_CUDA_SASS_ARCHS ""
#endif
#ifndef CSG_CUDA_PTX_ARCH
#define CSG_CUDA_PTX_ARCH 0
#endif

namespace csg::cuda {

#ifdef CSG_WITH_CUDA
namespace {
const CudaProbe& probe() {
  static const CudaProbe p = [] {
    CudaProbe q = kernels::probe_device();
    q.sass_archs = parse_arch_list(CSG_CUDA_SASS_ARCHS);
    q.ptx_arch = CSG_CUDA_PTX_ARCH;
    return q;
  }();
  return p;
}
}  // namespace
bool built_with_cuda() { return true; }
std::string built_architectures() { return describe_archs(parse_arch_list(CSG_CUDA_SASS_ARCHS), CSG_CUDA_PTX_ARCH); }
bool available() { return probe().result == CudaProbe::Result::Ok; }
bool gpu_not_built_for() { return probe().result == CudaProbe::Result::NotBuiltFor; }
std::string status() { return describe_cuda_probe(probe()); }
void synchronize() {
  if (available()) kernels::synchronize();
}
MemoryStats memory_stats() { return available() ? kernels::memory_stats() : MemoryStats{}; }
void reset_peak_memory() {
  if (available()) kernels::reset_peak_memory();
}
void empty_cache() {
  if (available()) kernels::empty_cache();
}
void set_matmul_tf32(bool on) { kernels::gemm_set_allow_tf32(on); }
bool matmul_tf32() { return kernels::gemm_allow_tf32(); }
bool has_bf16_convolutions(std::string* why) {
  const CudaProbe& p = probe();
  if (p.result != CudaProbe::Result::Ok) {
    if (why) *why = describe_cuda_probe(p);  // "no usable CUDA device (...)"
    return false;
  }
  if (p.compute_major >= 8) return true;
  if (why)
    *why = "the GPU (" + p.device + ") is older than compute capability 8.0 (Ampere), which cuDNN's BF16 " +
           "convolutions need: use --precision fp32";
  return false;
}
#else
bool built_with_cuda() { return false; }
std::string built_architectures() { return ""; }
bool available() { return false; }
bool gpu_not_built_for() { return false; }
std::string status() { return "this csg was built without CUDA (no nvcc at build time)"; }
void synchronize() {}
MemoryStats memory_stats() { return {}; }
void reset_peak_memory() {}
void empty_cache() {}
namespace {
bool g_matmul_tf32 = false;  // nothing to apply it to without CUDA
}  // namespace
void set_matmul_tf32(bool on) { g_matmul_tf32 = on; }
bool matmul_tf32() { return g_matmul_tf32; }
bool has_bf16_convolutions(std::string* why) {
  if (why) *why = status();
  return false;
}
#endif

}  // namespace csg::cuda
