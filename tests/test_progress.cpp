// tests/test_progress.cpp — the progress line's bar, counts, elapsed time and ETA.
#include <gtest/gtest.h>

#include "csg/progress.h"

namespace csg {
namespace {

TEST(Progress, FormatsSeconds) {
  EXPECT_EQ(format_seconds(0), "0s");
  EXPECT_EQ(format_seconds(42.4), "42s");
  EXPECT_EQ(format_seconds(185), "3m05s");
  EXPECT_EQ(format_seconds(3720), "1h02m");
  EXPECT_EQ(format_seconds(-3), "0s");
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
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 1000);
    for (int64_t i = 1; i <= 1000; ++i) bar.update(i);
  }
  const std::string out = testing::internal::GetCapturedStderr();
  int lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_GE(lines, 10);
  EXPECT_LE(lines, 11);
  EXPECT_NE(out.find("100% (1000/1000)"), std::string::npos);
}

TEST(Progress, QuietPrintsNothing) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 10, /*quiet=*/true);
    for (int64_t i = 1; i <= 10; ++i) bar.update(i);
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace csg
