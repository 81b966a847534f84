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

}  // namespace csg
