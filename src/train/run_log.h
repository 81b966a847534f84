// src/train/run_log.h — one training run's log. Every --log-every steps, the means of the window of
// steps since the last line fan out to three places: <out_dir>/log.csv, a TensorBoard events file
// and the console line. The first steps' timing gives the run's estimate.
#pragma once
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "csg/io/tensorboard.h"
#include "csg/train.h"
#include "src/train/csg_step.h"

namespace csg::train {

// What the log says about the run besides the steps' figures.
struct RunLogContext {
  const char* device = "cpu";
  int64_t first_step = 0;  // 0, or the step a resumed run continues from
  int64_t total_steps = 0, steps_per_epoch = 0;
};

class RunLog {
 public:
  // `writes` (rank 0) opens log.csv (a resumed run keeps its rows up to its step) and an events
  // file (a resumed run adds a second one); the other ranks only keep the figures.
  RunLog(const Config& cfg, bool writes, const RunLogContext& context);

  // Prints the run's first line: task, architecture, device, steps, method, layers.
  void announce(int ranks, const std::string& backend) const;
  // Starts the clocks of the throughput, the ETA and the estimate (after the set-up).
  void start_clock();
  // One step's figures (the means over the global batch of `images` images). At the end of a
  // window, writes the three logs and sets the summary's first and last losses.
  void add_step(const StepResult& r, int64_t images, int64_t step, int64_t epoch, double lr, TrainSummary& summary);
  // An evaluation's figure on the target split, in TensorBoard.
  void add_evaluation(double metric, int64_t step);
  const std::string& csv_path() const { return csv_path_; }

 private:
  // Running means of the step results between two log lines.
  struct Window {
    int64_t steps = 0, images = 0;
    double total = 0, task = 0, reg = 0;
    std::map<int, double> nce, top1;
  };
  void print_estimate(int64_t step) const;
  void write_window(int64_t step, int64_t epoch, double lr, TrainSummary& summary);

  const Config& cfg_;
  const bool writes_, regularized_;
  const RunLogContext context_;
  const std::string csv_path_;
  std::ofstream csv_;
  std::unique_ptr<TensorBoardWriter> tb_;
  using Clock = std::chrono::steady_clock;
  Clock::time_point t_start_, t_window_, t_first_step_;
  Window window_;
};

}  // namespace csg::train
