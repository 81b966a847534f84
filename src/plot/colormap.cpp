// src/plot/colormap.cpp — viridis and a colour bar.
#include <algorithm>
#include <cmath>

#include "csg/error.h"
#include "csg/plot.h"

namespace csg::plot {

Color viridis(double t) {
  // matplotlib's viridis at t = 0, 0.1, ..., 1, interpolated linearly in RGB.
  static const Color kAnchors[11] = {{68, 1, 84},    {72, 36, 117},  {65, 68, 135},  {53, 95, 141},
                                     {42, 120, 142}, {33, 145, 140}, {34, 168, 132}, {68, 191, 112},
                                     {122, 209, 81}, {189, 223, 38}, {253, 231, 37}};
  if (!(t > 0)) t = 0;  // NaN too
  if (t > 1) t = 1;
  const double f = t * 10;
  const int k = std::min(9, static_cast<int>(f));
  const double w = f - k;
  auto mix = [w](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + w * (b - a))); };
  const Color a = kAnchors[k], b = kAnchors[k + 1];
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

void colorbar(Canvas& canvas, int x, int y, int w, int h, double lo, double hi, const std::string& label,
              Color (*cmap)(double)) {
  CSG_CHECK(w > 0 && h > 1, "plot: colour bar needs a positive size, got ", w, "x", h);
  CSG_CHECK(hi > lo, "plot: colour bar range must be increasing, got [", lo, ", ", hi, "]");
  for (int j = 0; j < h; ++j) {
    const Color c = cmap(1.0 - static_cast<double>(j) / (h - 1));  // high values on top
    for (int i = 0; i < w; ++i) canvas.set(x + i, y + j, c);
  }
  canvas.line(x, y, x + w, y, kBlack);
  canvas.line(x, y + h, x + w, y + h, kBlack);
  canvas.line(x, y, x, y + h, kBlack);
  canvas.line(x + w, y, x + w, y + h, kBlack);
  const std::vector<double> ticks = nice_ticks(lo, hi, 5);
  const std::vector<std::string> labels = tick_labels(ticks);
  TextStyle st;
  st.scale = 1.5;
  st.valign = VAlign::Middle;
  double label_right = x + w;
  for (size_t k = 0; k < ticks.size(); ++k) {
    const double ty = y + h - (ticks[k] - lo) / (hi - lo) * h;
    canvas.line(x + w, ty, x + w + 4, ty, kBlack);
    draw_text(canvas, x + w + 7, ty, labels[k], st);
    label_right = std::max(label_right, x + w + 7 + text_width(labels[k], st.scale));
  }
  st.vertical = true;
  st.halign = HAlign::Left;
  draw_text(canvas, label_right + 6, y + h / 2.0, label, st);
}

}  // namespace csg::plot
