// src/plot/chart.cpp — ticks and a line chart with axes, grid and legend.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "csg/error.h"
#include "csg/plot.h"

namespace csg::plot {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  CSG_CHECK(std::isfinite(lo) && std::isfinite(hi) && hi > lo, "plot: ticks need a finite increasing range, got [",
            lo, ", ", hi, "]");
  CSG_CHECK(target >= 1, "plot: ask for at least one tick, got ", target);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  const double tol = 1e-9 * step;
  for (double k = std::ceil((lo - tol) / step); k * step <= hi + tol; k += 1) {
    double v = k * step;
    if (std::fabs(v) < tol) v = 0;  // no "-0"
    ticks.push_back(std::min(std::max(v, lo), hi));
  }
  return ticks;
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  double step = 0;
  double biggest = 0;
  for (size_t k = 0; k < ticks.size(); ++k) {
    biggest = std::max(biggest, std::fabs(ticks[k]));
    if (k > 0) step = step == 0 ? ticks[k] - ticks[k - 1] : std::min(step, ticks[k] - ticks[k - 1]);
  }
  const bool scientific = biggest >= 1e6 || (biggest > 0 && biggest < 1e-4);
  const int decimals = step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9))) : 2;
  std::vector<std::string> out;
  char buf[64];
  for (double t : ticks) {
    if (scientific)
      std::snprintf(buf, sizeof buf, "%.2g", t);
    else
      std::snprintf(buf, sizeof buf, "%.*f", decimals, t);
    out.push_back(buf);
  }
  return out;
}

double ChartFrame::px(double x) const { return plot.x + (x - x_min) / (x_max - x_min) * plot.w; }
double ChartFrame::py(double y) const { return plot.y + plot.h - (y - y_min) / (y_max - y_min) * plot.h; }

namespace {

// [lo, hi] widened by `margin` of its span; a single value gets a unit-sized range around it.
void padded_range(double lo, double hi, double margin, double& out_lo, double& out_hi) {
  if (hi - lo <= 0) {
    const double pad = lo == 0 ? 1.0 : 0.1 * std::fabs(lo);
    out_lo = lo - pad, out_hi = hi + pad;
    return;
  }
  out_lo = lo - margin * (hi - lo);
  out_hi = hi + margin * (hi - lo);
}

void draw_legend(Canvas& canvas, const ChartFrame& f, const std::vector<Series>& series, double scale) {
  std::vector<const Series*> entries;
  for (const Series& s : series) {
    if (s.label.empty()) continue;
    const bool seen = std::any_of(entries.begin(), entries.end(), [&](const Series* e) { return e->label == s.label; });
    if (!seen) entries.push_back(&s);
  }
  if (entries.empty()) return;
  const double row = text_height("Ag", scale) + 8, sample = 28, pad = 8;
  double text_w = 0;
  for (const Series* e : entries) text_w = std::max(text_w, text_width(e->label, scale));
  const double w = pad + sample + 8 + text_w + pad, h = pad + row * entries.size() + pad - 8;
  // The corner the lines cross least (top-right first on ties), judged on points sampled
  // every few pixels along each line.
  const double left = f.plot.x + 10, right = f.plot.x + f.plot.w - w - 10;
  const double top = f.plot.y + 10, bottom = f.plot.y + f.plot.h - h - 10;
  const double corners[4][2] = {{right, top}, {left, top}, {right, bottom}, {left, bottom}};
  int crossings[4] = {0, 0, 0, 0};
  for (const Series& s : series)
    for (size_t k = 0; k + 1 < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k] + s.y[k] + s.x[k + 1] + s.y[k + 1])) continue;
      const double ax = f.px(s.x[k]), ay = f.py(s.y[k]), bx = f.px(s.x[k + 1]), by = f.py(s.y[k + 1]);
      const int steps = 1 + static_cast<int>(std::hypot(bx - ax, by - ay) / 3);
      for (int t = 0; t <= steps; ++t) {
        const double px = ax + (bx - ax) * t / steps, py = ay + (by - ay) * t / steps;
        for (int c = 0; c < 4; ++c)
          crossings[c] += px >= corners[c][0] - 4 && px <= corners[c][0] + w + 4 && py >= corners[c][1] - 4 &&
                          py <= corners[c][1] + h + 4;
      }
    }
  const int best = static_cast<int>(std::min_element(crossings, crossings + 4) - crossings);
  const double x0 = corners[best][0], y0 = corners[best][1];
  canvas.fill_rect(x0, y0, x0 + w, y0 + h, kWhite, 0.9);
  canvas.polyline({x0, x0 + w, x0 + w, x0, x0}, {y0, y0, y0 + h, y0 + h, y0}, kGrey, 1.0);
  TextStyle st;
  st.scale = scale;
  st.valign = VAlign::Middle;
  for (size_t k = 0; k < entries.size(); ++k) {
    const double cy = y0 + pad + row * k + (row - 8) / 2;
    canvas.line(x0 + pad, cy, x0 + pad + sample, cy, entries[k]->color, std::max(2.0, entries[k]->thickness));
    draw_text(canvas, x0 + pad + sample + 8, cy, entries[k]->label, st);
  }
}

}  // namespace

ChartFrame line_chart(Canvas& canvas, const Rect& area, const std::vector<Series>& series,
                      const ChartOptions& opt) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series) {
    CSG_CHECK(s.x.size() == s.y.size(), "plot: series '", s.label, "' has ", s.x.size(), " x and ", s.y.size(),
              " y values");
    for (size_t k = 0; k < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      x_lo = std::min(x_lo, s.x[k]), x_hi = std::max(x_hi, s.x[k]);
      y_lo = std::min(y_lo, s.y[k]), y_hi = std::max(y_hi, s.y[k]);
    }
  }
  CSG_CHECK(std::isfinite(x_lo), "plot: chart '", opt.title, "' has no finite data point to draw");
  ChartFrame f;
  padded_range(x_lo, x_hi, 0.0, f.x_min, f.x_max);
  padded_range(y_lo, y_hi, 0.05, f.y_min, f.y_max);

  const double s = opt.text_scale;
  const std::vector<double> xt = nice_ticks(f.x_min, f.x_max, 6), yt = nice_ticks(f.y_min, f.y_max, 5);
  const std::vector<std::string> xl = tick_labels(xt), yl = tick_labels(yt);
  double ytick_w = 0;
  for (const std::string& l : yl) ytick_w = std::max(ytick_w, text_width(l, s));
  const double line_h = text_height("Ag", s);
  const int title_h = opt.title.empty() ? 6 : static_cast<int>(line_h * 1.2 + 14);
  const int left = static_cast<int>((opt.y_label.empty() ? 0 : line_h + 10) + ytick_w + 16);
  const int bottom = static_cast<int>(line_h + 14 + (opt.x_label.empty() ? 0 : line_h + 10));
  f.plot = {area.x + left, area.y + title_h, area.w - left - 16, area.h - title_h - bottom};
  CSG_CHECK(f.plot.w > 10 && f.plot.h > 10, "plot: chart area ", area.w, "x", area.h, " is too small for its labels");
  const double pl = f.plot.x, pr = f.plot.x + f.plot.w, pt = f.plot.y, pb = f.plot.y + f.plot.h;

  TextStyle st;
  st.scale = s;
  for (size_t k = 0; k < xt.size(); ++k) {
    const double x = f.px(xt[k]);
    canvas.line(x, pt, x, pb, kLightGrey);
    canvas.line(x, pb, x, pb + 5, kBlack);
    st.halign = HAlign::Center, st.valign = VAlign::Top;
    draw_text(canvas, x, pb + 8, xl[k], st);
  }
  for (size_t k = 0; k < yt.size(); ++k) {
    const double y = f.py(yt[k]);
    canvas.line(pl, y, pr, y, kLightGrey);
    canvas.line(pl - 5, y, pl, y, kBlack);
    st.halign = HAlign::Right, st.valign = VAlign::Middle;
    draw_text(canvas, pl - 8, y, yl[k], st);
  }
  for (const Series& ser : series) {  // runs of finite points
    std::vector<double> xs, ys;
    auto flush = [&] {
      canvas.polyline(xs, ys, ser.color, ser.thickness);
      xs.clear(), ys.clear();
    };
    for (size_t k = 0; k < ser.x.size(); ++k) {
      if (std::isfinite(ser.x[k]) && std::isfinite(ser.y[k])) {
        xs.push_back(f.px(ser.x[k]));
        ys.push_back(f.py(ser.y[k]));
      } else {
        flush();
      }
    }
    flush();
  }
  canvas.polyline({pl, pr, pr, pl, pl}, {pt, pt, pb, pb, pt}, kBlack, 1.0);

  if (!opt.title.empty()) {
    TextStyle ts = st;
    ts.scale = s * 1.2, ts.halign = HAlign::Center, ts.valign = VAlign::Top;
    draw_text(canvas, (pl + pr) / 2, area.y + 6, opt.title, ts);
  }
  if (!opt.x_label.empty()) {
    st.halign = HAlign::Center, st.valign = VAlign::Bottom;
    draw_text(canvas, (pl + pr) / 2, area.y + area.h - 4, opt.x_label, st);
  }
  if (!opt.y_label.empty()) {
    TextStyle vs = st;
    vs.vertical = true, vs.halign = HAlign::Left, vs.valign = VAlign::Middle;
    draw_text(canvas, area.x + 4, (pt + pb) / 2, opt.y_label, vs);
  }
  if (opt.legend) draw_legend(canvas, f, series, s);
  return f;
}

}  // namespace csg::plot
