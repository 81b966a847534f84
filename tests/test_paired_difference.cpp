// tests/test_paired_difference.cpp — the paired comparison over seeds against values worked out
// by hand, and the Student t table against its published values.
#include <gtest/gtest.h>

#include <cmath>

#include "csg/metrics.h"

using namespace csg;

TEST(PairedDifference, MatchesAHandComputation) {
  // d = CSG - baseline = {+1, -2, +3, +0.5, +2.5}: mean 5/5 = 1.0;
  // squared deviations 0 + 9 + 4 + 0.25 + 2.25 = 15.5, std = sqrt(15.5 / 4) = 1.968502;
  // t_{0.975,4} = 2.776, half width = 2.776 * 1.968502 / sqrt(5) = 2.443826.
  const std::vector<double> csg = {51.0, 50.0, 56.0, 53.5, 57.5};
  const std::vector<double> base = {50.0, 52.0, 53.0, 53.0, 55.0};
  const PairedDifference p = paired_difference(csg, base);
  ASSERT_EQ(p.n(), 5);
  const std::vector<double> d = {1.0, -2.0, 3.0, 0.5, 2.5};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(p.differences[i], d[i], 1e-12) << i;
  EXPECT_NEAR(p.mean, 1.0, 1e-12);
  EXPECT_NEAR(p.std, 1.968502, 1e-6);
  EXPECT_DOUBLE_EQ(p.t_quantile, 2.776);
  EXPECT_NEAR(p.ci_low, 1.0 - 2.443826, 1e-6);
  EXPECT_NEAR(p.ci_high, 1.0 + 2.443826, 1e-6);
  EXPECT_EQ(p.wins, 4);
  EXPECT_EQ(p.ties, 0);
}

TEST(PairedDifference, TiesTwoSeedsAndOneSeed) {
  // d = {0, -1}: mean -0.5, std sqrt(0.5) = 0.707107, t_{0.975,1} = 12.706,
  // half width 12.706 * 0.707107 / sqrt(2) = 6.353.
  const PairedDifference two = paired_difference({10, 20}, {10, 21});
  EXPECT_EQ(two.wins, 0);
  EXPECT_EQ(two.ties, 1);
  EXPECT_NEAR(two.mean, -0.5, 1e-12);
  EXPECT_NEAR(two.ci_low, -0.5 - 6.353, 1e-9);
  EXPECT_NEAR(two.ci_high, -0.5 + 6.353, 1e-9);
  // One seed: a difference but no spread, so no interval.
  const PairedDifference one = paired_difference({3}, {1});
  EXPECT_EQ(one.n(), 1);
  EXPECT_NEAR(one.mean, 2.0, 1e-12);
  EXPECT_EQ(one.wins, 1);
  EXPECT_TRUE(std::isnan(one.std));
  EXPECT_TRUE(std::isnan(one.ci_low) && std::isnan(one.ci_high));
}

TEST(PairedDifference, RefusesUnpairedOrEmptyInput) {
  EXPECT_THROW(paired_difference({1, 2}, {1}), Error);
  EXPECT_THROW(paired_difference({}, {}), Error);
  EXPECT_THROW(paired_difference({NAN}, {1}), Error);
  try {
    paired_difference({1, 2, 3}, {1, 2});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 treatment values but 2 control values"), std::string::npos) << e.what();
  }
}

TEST(StudentT, PublishedQuantiles) {
  EXPECT_DOUBLE_EQ(student_t_975(1), 12.706);
  EXPECT_DOUBLE_EQ(student_t_975(2), 4.303);
  EXPECT_DOUBLE_EQ(student_t_975(4), 2.776);
  EXPECT_DOUBLE_EQ(student_t_975(9), 2.262);
  EXPECT_DOUBLE_EQ(student_t_975(30), 2.042);
  EXPECT_DOUBLE_EQ(student_t_975(45), 2.021);  // df 40 row: wider, never narrower
  EXPECT_DOUBLE_EQ(student_t_975(1000), 1.960);
  // Decreasing in df, towards the normal quantile.
  for (int df = 1; df < 200; ++df) EXPECT_GE(student_t_975(df), student_t_975(df + 1)) << df;
  EXPECT_THROW(student_t_975(0), Error);
}
