// src/train/stop_signals.cpp — see stop_signals.h.
#include "src/train/stop_signals.h"

#include <pthread.h>

#include <atomic>
#include <ctime>

namespace csg::train {

namespace {

// Set by the handler on a thread that does not block the signals (one made before the StopSignals).
std::atomic<int> g_caught{0};
extern "C" void record_stop_signal(int sig) { g_caught.store(sig); }

sigset_t stop_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t s = stop_set();
  pthread_sigmask(SIG_BLOCK, &s, &previous_mask_);
  // The OpenMP threads that exist already run oneDNN's kernels too; they keep the mask afterwards (the
  // process's signals then go to the threads that take them, this one once it is restored).
#pragma omp parallel
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  g_caught.store(0);
  struct sigaction record {};
  record.sa_handler = record_stop_signal;
  sigemptyset(&record.sa_mask);
  record.sa_flags = SA_RESTART;
  sigaction(SIGINT, &record, &previous_int_);
  sigaction(SIGTERM, &record, &previous_term_);
}

StopSignals::~StopSignals() {
  // Once a stop was taken, a second request (SIGTERM after SIGINT) asks for nothing more.
  if (received_ != 0) {
    const sigset_t s = stop_set();
    const timespec now{0, 0};
    while (sigtimedwait(&s, nullptr, &now) > 0) {
    }
  }
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

int StopSignals::pending() {
  if (received_ != 0) return received_;
  const sigset_t s = stop_set();
  const timespec now{0, 0};
  const int sig = sigtimedwait(&s, nullptr, &now);
  received_ = sig > 0 ? sig : g_caught.load();
  return received_;
}

int exit_status_for_signal(int signal) { return 128 + signal; }

}  // namespace csg::train
