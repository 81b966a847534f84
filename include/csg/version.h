// csg/version.h — what this build of csg is: its version (git describe at build time) and the
// backends it was compiled with.
#pragma once
#include <string>

namespace csg {

// "0.1.0 (git 5a79e1e-dirty)"; the git part is "unknown" when built outside a git checkout.
std::string version();
// One line naming the backends and libraries compiled in, as the Makefile printed it
// ("OpenBLAS ✓ (OpenMP), OpenMP ✓, CUDA ✓ (...), cuDNN ✓ (...), cuBLAS ✓").
std::string build_features();

// The machine a result was computed on, for tables that print figures: the CPU's "model name"
// from /proc/cpuinfo ("unknown CPU" where it cannot be read) and the kernel set OpenBLAS chose
// at run time (openblas_get_corename(), e.g. "Haswell", "SkylakeX", "Prescott"). Different
// kernels round differently, and a long training run amplifies that into points of accuracy.
std::string cpu_model_name();
std::string blas_core_name();

}  // namespace csg
