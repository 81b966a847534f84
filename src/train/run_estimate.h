// src/train/run_estimate.h — the estimate a run prints after its first steps: the time per step
// on its device, per epoch and to the end, before hours are spent finding out.
#pragma once
#include <cstdint>
#include <string>

namespace csg::train {

// Steps timed for the estimate, after the first step of a run (which also builds convolution
// plans, JIT kernels and fills the loader's queue, so it is left out).
constexpr int64_t kEstimateSteps = 5;

struct RunEstimate {
  std::string device;            // "cpu", "cuda"
  int64_t timed_steps = 0;
  double seconds_per_step = 0;
  double first_step_seconds = 0;
  int64_t steps_per_epoch = 0;
  int64_t steps_left = 0;
};

// "estimate on cpu (5 steps timed after the first, which took 4.1 s): 1.23 s per step, 2h05m per
// epoch of 6,100 steps, 2.6 days to the end (183,000 steps; evaluations not included)".
std::string format_estimate(const RunEstimate& e);

}  // namespace csg::train
