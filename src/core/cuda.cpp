// src/core/cuda.cpp — csg::cuda queries; a CPU-only build answers "unavailable".
#include "csg/cuda.h"

#ifdef CSG_WITH_CUDA
#include "kernels/blas.h"
#include "kernels/conv2d.h"
#include "kernels/runtime.h"
#endif

namespace csg::cuda {

#ifdef CSG_WITH_CUDA
namespace {
struct Probe {
  bool ok = false;
  std::string why;
};
const Probe& probe() {
  static Probe p = [] {
    Probe r;
    r.ok = kernels::device_present(&r.why);
    return r;
  }();
  return p;
}
}  // namespace
bool built_with_cuda() { return true; }
bool available() { return probe().ok; }
std::string status() {
  return available() ? "CUDA device: " + kernels::device_description() : "no usable CUDA device (" + probe().why + ")";
}
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
void set_tf32(const Tf32Settings& s) {
  kernels::conv2d_set_allow_tf32(s.convolutions);
  kernels::gemm_set_allow_tf32(s.matmuls);
}
Tf32Settings tf32() { return {kernels::conv2d_allow_tf32(), kernels::gemm_allow_tf32()}; }
#else
bool built_with_cuda() { return false; }
bool available() { return false; }
std::string status() { return "this csg was built without CUDA (no nvcc at build time)"; }
void synchronize() {}
MemoryStats memory_stats() { return {}; }
void reset_peak_memory() {}
void empty_cache() {}
namespace {
Tf32Settings g_tf32;  // nothing to apply it to without CUDA
}
void set_tf32(const Tf32Settings& s) { g_tf32 = s; }
Tf32Settings tf32() { return g_tf32; }
#endif

}  // namespace csg::cuda
