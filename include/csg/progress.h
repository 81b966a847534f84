// csg/progress.h — a progress bar with elapsed time and ETA for long stages (data preparation,
// evaluation, feature extraction). On a terminal it redraws one line; into a file or pipe it
// prints a line every 10% so logs stay short.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace csg {

class ProgressBar {
 public:
  // `label` names the stage ("rendering train"); `total` is the number of units of work.
  // A quiet bar prints nothing.
  ProgressBar(std::string label, int64_t total, bool quiet = false);
  ~ProgressBar();  // finishes the line if update() never reached total
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` units finished so far (monotone; values past total are clamped).
  void update(int64_t done);

  // The line the bar shows for `done` after `elapsed_s` seconds, e.g.
  // "  rendering train [#########           ]  45% (450/1000) 12s, ETA 15s".
  static std::string format(const std::string& label, int64_t done, int64_t total, double elapsed_s);

 private:
  std::string label_;
  int64_t total_;
  bool quiet_, tty_;
  int last_percent_ = -1;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "42s", "3m05s", "1h02m", and from two days on "2.6 days" (a CPU run's ETA can be weeks).
std::string format_seconds(double seconds);
// 1234567 -> "1,234,567".
std::string format_count(int64_t n);

}  // namespace csg
