// src/train/stop_signals.h — SIGINT and SIGTERM during training: taken between steps, never delivered
// to a thread that computes.
//
// Why no plain signal handler: the kernel writes a signal frame (several KB with the AVX-512 state)
// just below the stack pointer of the thread it interrupts. oneDNN 2.6's JIT f32 GEMM kernels (under
// its GEMM-based convolutions, which DeepLab's dilated ASPP convolutions use) point the stack pointer
// into a heap buffer while they run, so a signal handled on a thread inside one overwrote the heap,
// and glibc aborted later ("corrupted size vs. prev_size while consolidating"). While a StopSignals
// lives, both signals are blocked in the thread that made it and in its OpenMP threads (threads
// started later inherit the mask: the loader's workers, a new OpenMP pool), so the kernel keeps them
// pending and pending() takes them synchronously. A handler that only records the signal stays
// installed for threads made earlier by others (a test's watcher thread), which never run oneDNN.
#pragma once
#include <csignal>

namespace csg::train {

class StopSignals {
 public:
  StopSignals();
  // Restores the signal mask of this thread and the previous handlers. After a stop was taken, further
  // pending stop signals are dropped; otherwise one that arrived after the last pending() is delivered
  // under the previous handlers (by default it ends the process, as it would have).
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // SIGINT or SIGTERM if one has arrived since construction (the first one), else 0. Never blocks.
  int pending();

 private:
  sigset_t previous_mask_;
  struct sigaction previous_int_, previous_term_;
  int received_ = 0;
};

// The exit status of a command stopped by `signal` after it saved its work: 128 + the signal number
// (130 for SIGINT, 143 for SIGTERM), what shells and job schedulers report for it.
int exit_status_for_signal(int signal);

}  // namespace csg::train
