// csg/kde.h — the math of the feature-sphere figures (the paper's Figure 2): a fixed random
// projection of feature vectors to 2-D directions on the unit circle, and a 2-D Gaussian
// kernel density estimate with Scott's-rule bandwidth, as scipy.stats.gaussian_kde computes it.
#pragma once
#include <cstdint>
#include <vector>

#include "csg/tensor.h"

namespace csg::kde {

struct Point2 {
  double x = 0, y = 0;
};

// Scott's rule bandwidth factor n^(-1/(d+4)) for n points in d dimensions.
double scott_factor(int64_t n, int d);

// A [dim, 2] matrix (row-major) of independent N(0, 1) entries drawn from csg's counter-based
// generator with `seed`: the same matrix on every machine and in every run.
std::vector<double> gaussian_projection(int64_t dim, uint64_t seed);

// Each row v of `features` [N, dim] (any float dtype/device) to the unit 2-D direction of
// P^T (v / |v|), P = `projection` [dim, 2]. Rows whose projection has no direction (zero
// vectors) are left out; `kept_rows`, if given, receives the row index of each point.
std::vector<Point2> project_to_circle(const Tensor& features, const std::vector<double>& projection,
                                      std::vector<int64_t>* kept_rows = nullptr);

// f(x) = 1/n sum_i N(x; p_i, H) with H = factor^2 * cov(points) (the unbiased sample
// covariance), factor = scott_factor(n, 2): scipy's gaussian_kde(points.T) with its defaults.
class GaussianKde2 {
 public:
  explicit GaussianKde2(std::vector<Point2> points);  // at least 2 points, finite
  double factor() const { return factor_; }
  // Kernel covariance H (row-major 2x2).
  const double* kernel_covariance() const { return h_; }
  double density(double x, double y) const;
  // Densities at the centres of an nx x ny grid of cells over [x0, x1] x [y0, y1]; row-major,
  // row 0 at y0 (callers drawing images flip rows as needed).
  std::vector<double> grid(double x0, double x1, double y0, double y1, int nx, int ny) const;

 private:
  std::vector<Point2> pts_;
  double factor_ = 1;
  double h_[4] = {1, 0, 0, 1};
  double inv_[4] = {1, 0, 0, 1};  // H^-1
  double norm_ = 1;               // 1 / (n 2 pi sqrt(det H))
};

}  // namespace csg::kde
