// src/core/progress.cpp — see csg/progress.h.
#include "csg/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace csg {

std::string format_seconds(double seconds) {
  const long long s = std::max(0LL, static_cast<long long>(std::llround(seconds)));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 2 * 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f days", seconds / 86400);
  return buf;
}

std::string format_count(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::string ProgressBar::format(const std::string& label, int64_t done, int64_t total, double elapsed_s) {
  const int64_t clamped = std::min(std::max<int64_t>(done, 0), total);
  const int percent = total > 0 ? static_cast<int>(100 * clamped / total) : 100;
  const int filled = percent / 5;
  std::string line = "  " + label + " [" + std::string(filled, '#') + std::string(20 - filled, ' ') + "] ";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%3d%% (%lld/%lld) %s", percent, static_cast<long long>(clamped),
                static_cast<long long>(total), format_seconds(elapsed_s).c_str());
  line += buf;
  // The ETA assumes the remaining units take as long as the finished ones did on average.
  if (clamped > 0 && clamped < total) line += ", ETA " + format_seconds(elapsed_s / clamped * (total - clamped));
  return line;
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  if (!quiet_ && !finished_ && last_percent_ >= 0 && tty_) std::fprintf(stderr, "\n");
}

void ProgressBar::update(int64_t done) {
  if (quiet_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const bool last = done >= total_;
  const int percent = total_ > 0 ? static_cast<int>(100 * std::min(done, total_) / total_) : 100;
  if (tty_) {
    // Redraw at most 10 times a second, and always the final state.
    if (!last && std::chrono::duration<double>(now - last_draw_).count() < 0.1 && last_percent_ >= 0) return;
    std::fprintf(stderr, "\r%s", format(label_, done, total_, elapsed).c_str());
    if (last) std::fprintf(stderr, "\n");
  } else {
    if (!last && percent / 10 == last_percent_ / 10 && last_percent_ >= 0) return;
    std::fprintf(stderr, "%s\n", format(label_, done, total_, elapsed).c_str());
  }
  std::fflush(stderr);
  last_percent_ = percent;
  last_draw_ = now;
  finished_ = last;
}

}  // namespace csg
