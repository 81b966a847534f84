// src/plot/canvas.cpp — the RGB canvas and its antialiased primitives.
#include <algorithm>
#include <cmath>

#include "csg/error.h"
#include "csg/plot.h"

namespace csg::plot {

namespace {

double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

// Distance from (px, py) to the segment (x0, y0)-(x1, y1).
double segment_distance(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
  t = clamp01(t);
  const double ex = x0 + t * dx - px, ey = y0 + t * dy - py;
  return std::sqrt(ex * ex + ey * ey);
}

// Length of [a0, a1) inside the pixel span [i, i+1).
double overlap(double a0, double a1, int i) { return std::max(0.0, std::min(a1, i + 1.0) - std::max(a0, double(i))); }

}  // namespace

Color category_color(int i) {
  static const Color kTab10[] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  const int n = static_cast<int>(sizeof kTab10 / sizeof kTab10[0]);
  return kTab10[((i % n) + n) % n];
}

Canvas::Canvas(int width, int height, Color background) {
  CSG_CHECK(width > 0 && height > 0, "plot: canvas size must be positive, got ", width, "x", height);
  im_.width = width;
  im_.height = height;
  im_.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < im_.rgb.size(); i += 3) {
    im_.rgb[i] = background.r;
    im_.rgb[i + 1] = background.g;
    im_.rgb[i + 2] = background.b;
  }
}

Color Canvas::pixel(int x, int y) const {
  CSG_CHECK(x >= 0 && y >= 0 && x < width() && y < height(), "plot: pixel (", x, ", ", y, ") is outside the ",
            width(), "x", height(), " canvas");
  const uint8_t* p = im_.at(x, y);
  return {p[0], p[1], p[2]};
}

void Canvas::set(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= width() || y >= height()) return;
  uint8_t* p = im_.at(x, y);
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Canvas::blend(int x, int y, Color c, double alpha) {
  if (x < 0 || y < 0 || x >= width() || y >= height() || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  uint8_t* p = im_.at(x, y);
  const uint8_t src[3] = {c.r, c.g, c.b};
  for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] + alpha * (src[k] - p[k])));
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Color c, double alpha) {
  if (x1 < x0) std::swap(x0, x1);
  if (y1 < y0) std::swap(y0, y1);
  const int i0 = std::max(0, static_cast<int>(std::floor(x0))), i1 = std::min(width(), static_cast<int>(std::ceil(x1)));
  const int j0 = std::max(0, static_cast<int>(std::floor(y0))), j1 = std::min(height(), static_cast<int>(std::ceil(y1)));
  for (int j = j0; j < j1; ++j) {
    const double cy = overlap(y0, y1, j);
    for (int i = i0; i < i1; ++i) blend(i, j, c, alpha * cy * overlap(x0, x1, i));
  }
}

void Canvas::stroke_segments(const std::vector<double>& xs, const std::vector<double>& ys, Color c,
                             double thickness) {
  const double half = std::max(thickness, 0.5) / 2;
  double bx0 = 1e300, by0 = 1e300, bx1 = -1e300, by1 = -1e300;
  for (size_t k = 0; k < xs.size(); ++k) {
    bx0 = std::min(bx0, xs[k]);
    bx1 = std::max(bx1, xs[k]);
    by0 = std::min(by0, ys[k]);
    by1 = std::max(by1, ys[k]);
  }
  const int i0 = std::max(0, static_cast<int>(std::floor(bx0 - half - 1)));
  const int i1 = std::min(width(), static_cast<int>(std::ceil(bx1 + half + 1)));
  const int j0 = std::max(0, static_cast<int>(std::floor(by0 - half - 1)));
  const int j1 = std::min(height(), static_cast<int>(std::ceil(by1 + half + 1)));
  if (i0 >= i1 || j0 >= j1) return;
  // Coverage is the maximum over the segments, so joints are not blended twice.
  const int bw = i1 - i0;
  std::vector<float> cover(static_cast<size_t>(bw) * (j1 - j0), 0.0f);
  const size_t segments = xs.size() == 1 ? 1 : xs.size() - 1;
  for (size_t k = 0; k < segments; ++k) {
    const size_t k1 = std::min(k + 1, xs.size() - 1);
    const double ax = xs[k], ay = ys[k], bx = xs[k1], by = ys[k1];
    const int si0 = std::max(i0, static_cast<int>(std::floor(std::min(ax, bx) - half - 1)));
    const int si1 = std::min(i1, static_cast<int>(std::ceil(std::max(ax, bx) + half + 1)));
    const int sj0 = std::max(j0, static_cast<int>(std::floor(std::min(ay, by) - half - 1)));
    const int sj1 = std::min(j1, static_cast<int>(std::ceil(std::max(ay, by) + half + 1)));
    for (int j = sj0; j < sj1; ++j)
      for (int i = si0; i < si1; ++i) {
        const double d = segment_distance(i + 0.5, j + 0.5, ax, ay, bx, by);
        float& cv = cover[static_cast<size_t>(j - j0) * bw + (i - i0)];
        cv = std::max(cv, static_cast<float>(clamp01(half + 0.5 - d)));
      }
  }
  for (int j = j0; j < j1; ++j)
    for (int i = i0; i < i1; ++i) blend(i, j, c, cover[static_cast<size_t>(j - j0) * bw + (i - i0)]);
}

void Canvas::line(double x0, double y0, double x1, double y1, Color c, double thickness) {
  stroke_segments({x0, x1}, {y0, y1}, c, thickness);
}

void Canvas::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Color c, double thickness) {
  CSG_CHECK(xs.size() == ys.size(), "plot: polyline has ", xs.size(), " x and ", ys.size(), " y coordinates");
  if (xs.empty()) return;
  stroke_segments(xs, ys, c, thickness);
}

void Canvas::circle(double cx, double cy, double radius, Color c, double thickness, double alpha) {
  const double half = std::max(thickness, 0.5) / 2, reach = radius + half + 1;
  const int i0 = std::max(0, static_cast<int>(std::floor(cx - reach)));
  const int i1 = std::min(width(), static_cast<int>(std::ceil(cx + reach)));
  const int j0 = std::max(0, static_cast<int>(std::floor(cy - reach)));
  const int j1 = std::min(height(), static_cast<int>(std::ceil(cy + reach)));
  for (int j = j0; j < j1; ++j)
    for (int i = i0; i < i1; ++i) {
      const double d = std::fabs(std::hypot(i + 0.5 - cx, j + 0.5 - cy) - radius);
      blend(i, j, c, alpha * clamp01(half + 0.5 - d));
    }
}

void Canvas::disc(double cx, double cy, double radius, Color c, double alpha) {
  const double reach = radius + 1;
  const int i0 = std::max(0, static_cast<int>(std::floor(cx - reach)));
  const int i1 = std::min(width(), static_cast<int>(std::ceil(cx + reach)));
  const int j0 = std::max(0, static_cast<int>(std::floor(cy - reach)));
  const int j1 = std::min(height(), static_cast<int>(std::ceil(cy + reach)));
  for (int j = j0; j < j1; ++j)
    for (int i = i0; i < i1; ++i)
      blend(i, j, c, alpha * clamp01(radius + 0.5 - std::hypot(i + 0.5 - cx, j + 0.5 - cy)));
}

void Canvas::paste(const Canvas& other, int x, int y) {
  for (int j = 0; j < other.height(); ++j)
    for (int i = 0; i < other.width(); ++i) set(x + i, y + j, other.pixel(i, j));
}

void write_png(const Canvas& canvas, const std::string& path) { image::save_png(path, canvas.image()); }

}  // namespace csg::plot
