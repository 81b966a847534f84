// src/infer/threads.cpp — one setting for both thread pools: OpenBLAS's OpenMP build shares
// OpenMP's, but keeps its own count (openblas_set_num_threads).
#include "src/infer/threads.h"

#include <omp.h>

extern "C" void openblas_set_num_threads(int n);
extern "C" int openblas_get_num_threads(void);

namespace csg::infer {

namespace {
// OpenBLAS's OpenMP build sets OpenMP's width too when its own is set, so OpenMP's goes second.
void set_both(int omp, int blas) {
  openblas_set_num_threads(blas);
  omp_set_num_threads(omp);
}
}  // namespace

ThreadsScope::ThreadsScope(int n) : omp_before_(omp_get_max_threads()), blas_before_(openblas_get_num_threads()) {
  if (n > 0) set_both(n, n), changed_ = true;
}

// Restores only what it changed: OpenBLAS can report a width (1 before its first call, in some
// builds) that, set back, would narrow OpenMP's.
ThreadsScope::~ThreadsScope() {
  if (changed_) set_both(omp_before_, blas_before_);
}

}  // namespace csg::infer
