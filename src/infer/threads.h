// src/infer/threads.h — the thread count of inference runs, for OpenMP and OpenBLAS together.
#pragma once

namespace csg::infer {

// Within its scope, runs started from the calling thread use n threads (n > 0), or, for n <= 0,
// the calling program's own settings as they stand (OMP_NUM_THREADS, else every core, unless it
// changed them). The caller's setting comes back at the end of the scope: a program that calls the
// C API with 1 thread keeps its own OpenMP width afterwards, and so does a training run started
// later in the same process (its stop-signal mask reaches only as many OpenMP threads as that
// width).
class ThreadsScope {
 public:
  explicit ThreadsScope(int n);
  ~ThreadsScope();
  ThreadsScope(const ThreadsScope&) = delete;
  ThreadsScope& operator=(const ThreadsScope&) = delete;

 private:
  bool changed_ = false;
  int omp_before_, blas_before_;
};

}  // namespace csg::infer
