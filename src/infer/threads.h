// src/infer/threads.h — the thread count of inference runs, for OpenMP and OpenBLAS together.
#pragma once

namespace csg::infer {

// n > 0: n threads; n <= 0: the process's default (OMP_NUM_THREADS, else every core), as read
// the first time this is called. Applies to runs started from the calling thread.
void set_threads(int n);

}  // namespace csg::infer
