// src/train/run_estimate.cpp — see run_estimate.h.
#include "src/train/run_estimate.h"

#include <cstdio>

#include "csg/progress.h"

namespace csg::train {

std::string format_estimate(const RunEstimate& e) {
  char per_step[64], first[64];
  if (e.seconds_per_step >= 0.1)
    std::snprintf(per_step, sizeof per_step, "%.2f s per step", e.seconds_per_step);
  else
    std::snprintf(per_step, sizeof per_step, "%.1f ms per step", 1000 * e.seconds_per_step);
  std::snprintf(first, sizeof first, "%.1f s", e.first_step_seconds);
  return "estimate on " + e.device + " (" + std::to_string(e.timed_steps) + " steps timed after the first, which took " +
         first + "): " + per_step + ", " + format_seconds(e.seconds_per_step * e.steps_per_epoch) + " per epoch of " +
         format_count(e.steps_per_epoch) + " steps, " + format_seconds(e.seconds_per_step * e.steps_left) +
         " to the end (" + format_count(e.steps_left) + " steps; evaluations not included)";
}

}  // namespace csg::train
