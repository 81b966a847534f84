// tests/test_kde.cpp — random projection to the circle and the Scott's-rule Gaussian KDE.
#include <cmath>

#include "csg/kde.h"
#include "tests/testing.h"

using namespace csg;
using kde::Point2;

TEST(Kde, ScottFactorKnownValues) {
  EXPECT_NEAR(kde::scott_factor(64, 2), 0.5, 1e-15);  // 64^(-1/6)
  EXPECT_NEAR(kde::scott_factor(1000, 1), 0.25118864315095796, 1e-15);  // 1000^(-1/5)
  EXPECT_NEAR(kde::scott_factor(1, 2), 1.0, 1e-15);
  EXPECT_THROW(kde::scott_factor(0, 2), Error);
}

TEST(Kde, KernelCovarianceIsScottScaledSampleCovariance) {
  // Corners of a 2 x 2 square: var x = var y = 4/3 (unbiased), cov xy = 0; and a sheared set.
  kde::GaussianKde2 k({{0, 0}, {2, 0}, {0, 2}, {2, 2}});
  const double f2 = std::pow(4.0, -1.0 / 3);
  EXPECT_NEAR(k.factor(), std::pow(4.0, -1.0 / 6), 1e-15);
  EXPECT_NEAR(k.kernel_covariance()[0], 4.0 / 3 * f2, 1e-12);
  EXPECT_NEAR(k.kernel_covariance()[3], 4.0 / 3 * f2, 1e-12);
  EXPECT_NEAR(k.kernel_covariance()[1], 0.0, 1e-12);
  // (0,0), (1,2), (3,3): mean (4/3, 5/3); cov xy = ((-4/3)(-5/3) + (-1/3)(1/3) + (5/3)(4/3)) / 2 = 39/18.
  kde::GaussianKde2 s({{0, 0}, {1, 2}, {3, 3}});
  const double g2 = std::pow(3.0, -1.0 / 3);
  EXPECT_NEAR(s.kernel_covariance()[1], 39.0 / 18 * g2, 1e-12);
  EXPECT_NEAR(s.kernel_covariance()[0], (16.0 / 9 + 1.0 / 9 + 25.0 / 9) / 2 * g2, 1e-12);
  // The density at a data point of a 3-point set, from the formula by hand.
  const double* h = s.kernel_covariance();
  const double det = h[0] * h[3] - h[1] * h[2];
  double expect = 0;
  const Point2 pts[3] = {{0, 0}, {1, 2}, {3, 3}};
  for (const Point2& p : pts) {
    const double dx = 1 - p.x, dy = 2 - p.y;
    const double q = (h[3] * dx * dx - 2 * h[1] * dx * dy + h[0] * dy * dy) / det;
    expect += std::exp(-0.5 * q);
  }
  expect /= 3 * 2 * M_PI * std::sqrt(det);
  EXPECT_NEAR(s.density(1, 2), expect, 1e-12 * expect);
}

TEST(Kde, IntegratesToOneOverAWideGrid) {
  std::vector<Point2> pts;
  for (int i = 0; i < 200; ++i) {
    const double a = 0.7 * i;
    pts.push_back({std::cos(a) * (0.3 + 0.002 * i), std::sin(a) * (0.5 + 0.001 * i) + 0.2});
  }
  kde::GaussianKde2 k(pts);
  const int n = 300;
  const std::vector<double> g = k.grid(-3, 3, -3, 3, n, n);
  double sum = 0;
  for (double v : g) sum += v;
  const double cell = (6.0 / n) * (6.0 / n);
  EXPECT_NEAR(sum * cell, 1.0, 2e-3);
}

TEST(Kde, PeaksAtTheDenserCluster) {
  std::vector<Point2> pts;
  Tensor noise = csg::testing::uniform({100, 2}, 3, DType::F64, -0.15, 0.15);
  const std::vector<double> e = noise.to_vector();
  for (int i = 0; i < 100; ++i) {
    const double cx = i < 80 ? 1.0 : -1.0, cy = i < 80 ? 0.5 : -0.5;  // 80 points near (1, .5), 20 near (-1, -.5)
    pts.push_back({cx + e[2 * i], cy + e[2 * i + 1]});
  }
  kde::GaussianKde2 k(pts);
  const int n = 120;
  const std::vector<double> g = k.grid(-2, 2, -2, 2, n, n);
  const size_t best = std::max_element(g.begin(), g.end()) - g.begin();
  const double bx = -2 + (best % n + 0.5) * 4.0 / n, by = -2 + (best / n + 0.5) * 4.0 / n;  // row 0 at y = -2
  EXPECT_NEAR(bx, 1.0, 0.2);
  EXPECT_NEAR(by, 0.5, 0.2);
  EXPECT_GT(k.density(-1, -0.5), k.density(0, 0));
  EXPECT_GT(k.density(1, 0.5), 2 * k.density(-1, -0.5));
}

TEST(Kde, CollinearPointsStillGiveAFiniteDensity) {
  kde::GaussianKde2 k({{0, 0}, {1, 1}, {2, 2}});  // singular covariance
  EXPECT_TRUE(std::isfinite(k.density(1, 1)));
  EXPECT_GT(k.density(1, 1), k.density(1, 0));
  EXPECT_THROW(kde::GaussianKde2({{0, 0}}), Error);
  EXPECT_THROW(kde::GaussianKde2({{0, 0}, {NAN, 1}}), Error);
}

TEST(Kde, ProjectionIsDeterministicAndGaussian) {
  const std::vector<double> a = kde::gaussian_projection(512, 2021), b = kde::gaussian_projection(512, 2021);
  const std::vector<double> c = kde::gaussian_projection(512, 2022);
  ASSERT_EQ(a.size(), 1024u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double mean = 0, var = 0;
  for (double v : a) mean += v;
  mean /= a.size();
  for (double v : a) var += (v - mean) * (v - mean);
  var /= a.size() - 1;
  EXPECT_NEAR(mean, 0.0, 0.1);  // standard error 0.03
  EXPECT_NEAR(var, 1.0, 0.15);
}

TEST(Kde, ProjectToCircleGivesUnitDirections) {
  const int64_t d = 6;
  const std::vector<double> p = kde::gaussian_projection(d, 5);
  // Row 0: the first column of P; row 1: 5x row 0 (same direction); row 2: zero (dropped);
  // row 3: random.
  std::vector<float> rows(4 * d, 0.0f);
  for (int64_t k = 0; k < d; ++k) {
    rows[k] = static_cast<float>(p[2 * k]);
    rows[d + k] = 5 * rows[k];
    rows[3 * d + k] = static_cast<float>(0.3 * k - 0.7);
  }
  std::vector<int64_t> kept;
  const std::vector<Point2> pts = kde::project_to_circle(from_vector(rows, {4, d}), p, &kept);
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(kept, (std::vector<int64_t>{0, 1, 3}));
  for (const Point2& q : pts) EXPECT_NEAR(std::hypot(q.x, q.y), 1.0, 1e-12);
  // P^T p1 = (|p1|^2, p1 . p2).
  double n11 = 0, n12 = 0;
  for (int64_t k = 0; k < d; ++k) {
    n11 += double(rows[k]) * p[2 * k];
    n12 += double(rows[k]) * p[2 * k + 1];
  }
  EXPECT_NEAR(pts[0].x, n11 / std::hypot(n11, n12), 1e-9);
  EXPECT_NEAR(pts[0].y, n12 / std::hypot(n11, n12), 1e-9);
  EXPECT_NEAR(pts[1].x, pts[0].x, 1e-9);
  EXPECT_NEAR(pts[1].y, pts[0].y, 1e-9);
  EXPECT_THROW(kde::project_to_circle(from_vector(rows, {4, d}), kde::gaussian_projection(d + 1, 5)), Error);
}
