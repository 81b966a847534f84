// src/infer/threads.cpp — one setting for both thread pools: OpenBLAS's OpenMP build shares
// OpenMP's, but keeps its own count (openblas_set_num_threads).
#include "src/infer/threads.h"

#include <omp.h>

extern "C" void openblas_set_num_threads(int n);

namespace csg::infer {

void set_threads(int n) {
  static const int default_threads = omp_get_max_threads();
  const int t = n > 0 ? n : default_threads;
  omp_set_num_threads(t);
  openblas_set_num_threads(t);
}

}  // namespace csg::infer
