// tests/test_progress.cpp — the progress line's bar, counts, elapsed time and ETA, and the
// estimate a training run prints after its first steps.
#include <gtest/gtest.h>

#include "csg/progress.h"
#include "tests/testing.h"

namespace csg {
namespace {

TEST(Progress, RunEstimateGivesStepEpochAndEnd) {
  train::RunEstimate e;
  e.device = "cpu";
  e.timed_steps = 5;
  e.seconds_per_step = 12.5;
  e.first_step_seconds = 30.2;
  e.steps_per_epoch = 4762;  // VisDA-17's 152,397 images at batch 32
  e.steps_left = 142854;
  EXPECT_EQ(train::format_estimate(e),
            "estimate on cpu (5 steps timed after the first, which took 30.2 s): 12.50 s per step, 16h32m per epoch "
            "of 4,762 steps, 20.7 days to the end (142,854 steps; evaluations not included)");
  e.device = "cuda";
  e.seconds_per_step = 0.0423;
  EXPECT_NE(train::format_estimate(e).find("42.3 ms per step, 3m21s per epoch"), std::string::npos)
      << train::format_estimate(e);
}

TEST(Progress, FormatsSeconds) {
  EXPECT_EQ(format_seconds(0), "0s");
  EXPECT_EQ(format_seconds(42.4), "42s");
  EXPECT_EQ(format_seconds(185), "3m05s");
  EXPECT_EQ(format_seconds(3720), "1h02m");
  EXPECT_EQ(format_seconds(-3), "0s");
  EXPECT_EQ(format_seconds(47 * 3600 + 59 * 60), "47h59m");
  EXPECT_EQ(format_seconds(2.6 * 86400), "2.6 days");  // a CPU run's ETA in units one reads
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(152397), "152,397");
  EXPECT_EQ(format_count(-1234567), "-1,234,567");
}

TEST(Progress, LineShowsBarCountsAndEta) {
  // A quarter done after 10 s: 30 s to go at the same rate.
  const std::string line = ProgressBar::format("rendering train", 250, 1000, 10.0);
  EXPECT_EQ(line, "  rendering train [#####               ]  25% (250/1000) 10s, ETA 30s");
}

TEST(Progress, FinishedLineHasNoEtaAndClampsOvershoot) {
  EXPECT_EQ(ProgressBar::format("eval", 12, 10, 4.0), "  eval [####################] 100% (10/10) 4s");
  EXPECT_EQ(ProgressBar::format("eval", 0, 10, 0.0), "  eval [                    ]   0% (0/10) 0s");
}

TEST(Progress, PipedOutputPrintsAboutTenLines) {
  // stderr is a pipe or file under the test runner: one line per 10% plus the last.
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 1000);
    for (int64_t i = 1; i <= 1000; ++i) bar.update(i);
  }
  const std::string out = ::testing::internal::GetCapturedStderr();
  int lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_GE(lines, 10);
  EXPECT_LE(lines, 11);
  EXPECT_NE(out.find("100% (1000/1000)"), std::string::npos);
}

TEST(Progress, QuietPrintsNothing) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 10, /*quiet=*/true);
    for (int64_t i = 1; i <= 10; ++i) bar.update(i);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace csg
