// src/plot/kde.cpp — random projection to the circle and the 2-D Gaussian KDE.
#include "csg/kde.h"

#include <cmath>

#include "csg/error.h"
#include "csg/random.h"

namespace csg::kde {

double scott_factor(int64_t n, int d) {
  CSG_CHECK(n >= 1 && d >= 1, "kde: Scott's rule needs n >= 1 and d >= 1, got n=", n, ", d=", d);
  return std::pow(static_cast<double>(n), -1.0 / (d + 4));
}

std::vector<double> gaussian_projection(int64_t dim, uint64_t seed) {
  CSG_CHECK(dim >= 1, "kde: projection needs a positive input dimension, got ", dim);
  Generator gen(seed);
  return randn({dim, 2}, gen, {DType::F64}).to_vector();
}

std::vector<Point2> project_to_circle(const Tensor& features, const std::vector<double>& projection,
                                      std::vector<int64_t>* kept_rows) {
  CSG_CHECK(features.dim() == 2, "kde: features must be [N, dim], got ", shape_str(features.shape()));
  const int64_t n = features.size(0), d = features.size(1);
  CSG_CHECK(static_cast<int64_t>(projection.size()) == 2 * d, "kde: projection has ", projection.size(),
            " entries, features need [", d, ", 2] = ", 2 * d);
  const std::vector<double> v = features.to_vector();
  std::vector<Point2> out;
  out.reserve(n);
  if (kept_rows) kept_rows->clear();
  for (int64_t i = 0; i < n; ++i) {
    // The direction of P^T v does not depend on |v|, so normalising v first changes nothing.
    double x = 0, y = 0;
    for (int64_t k = 0; k < d; ++k) {
      x += v[i * d + k] * projection[2 * k];
      y += v[i * d + k] * projection[2 * k + 1];
    }
    const double r = std::hypot(x, y);
    CSG_CHECK(std::isfinite(r), "kde: feature row ", i, " is not finite");
    if (!(r > 0)) continue;
    out.push_back({x / r, y / r});
    if (kept_rows) kept_rows->push_back(i);
  }
  return out;
}

GaussianKde2::GaussianKde2(std::vector<Point2> points) : pts_(std::move(points)) {
  const int64_t n = static_cast<int64_t>(pts_.size());
  CSG_CHECK(n >= 2, "kde: a density estimate needs at least 2 points, got ", n);
  double mx = 0, my = 0;
  for (const Point2& p : pts_) {
    CSG_CHECK(std::isfinite(p.x) && std::isfinite(p.y), "kde: points must be finite");
    mx += p.x, my += p.y;
  }
  mx /= n, my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (const Point2& p : pts_) {
    sxx += (p.x - mx) * (p.x - mx);
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) * (p.y - my);
  }
  factor_ = scott_factor(n, 2);
  const double f2 = factor_ * factor_ / (n - 1);
  h_[0] = sxx * f2, h_[1] = h_[2] = sxy * f2, h_[3] = syy * f2;
  double det = h_[0] * h_[3] - h_[1] * h_[2];
  const double trace = h_[0] + h_[3];
  // Points on one line (or one point) have a singular covariance, where scipy fails; a ridge
  // of 1e-6 of the spread (or a tiny absolute one) keeps the estimate defined there.
  if (!(det > 1e-12 * trace * trace)) {
    const double ridge = trace > 0 ? 1e-6 * trace : 1e-12;
    h_[0] += ridge, h_[3] += ridge;
    det = h_[0] * h_[3] - h_[1] * h_[2];
  }
  inv_[0] = h_[3] / det, inv_[3] = h_[0] / det, inv_[1] = inv_[2] = -h_[1] / det;
  norm_ = 1.0 / (n * 2 * M_PI * std::sqrt(det));
}

double GaussianKde2::density(double x, double y) const {
  double sum = 0;
  for (const Point2& p : pts_) {
    const double dx = x - p.x, dy = y - p.y;
    const double q = inv_[0] * dx * dx + 2 * inv_[1] * dx * dy + inv_[3] * dy * dy;
    if (q < 80) sum += std::exp(-0.5 * q);  // beyond ~9 bandwidths a kernel adds < 1e-17
  }
  return sum * norm_;
}

std::vector<double> GaussianKde2::grid(double x0, double x1, double y0, double y1, int nx, int ny) const {
  CSG_CHECK(nx >= 1 && ny >= 1 && x1 > x0 && y1 > y0, "kde: grid needs nx, ny >= 1 and an increasing box, got ", nx,
            "x", ny, " over [", x0, ", ", x1, "] x [", y0, ", ", y1, "]");
  std::vector<double> out(static_cast<size_t>(nx) * ny);
  const double dx = (x1 - x0) / nx, dy = (y1 - y0) / ny;
#pragma omp parallel for schedule(dynamic)
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) out[static_cast<size_t>(j) * nx + i] = density(x0 + (i + 0.5) * dx, y0 + (j + 0.5) * dy);
  return out;
}

}  // namespace csg::kde
