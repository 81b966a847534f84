// src/plot/sphere_figure.cpp — the feature-sphere figures (csg/sphere_figure.h): projection to
// the circle, KDE heat maps and class dots, one panel per model.
#include "csg/sphere_figure.h"

#include <algorithm>
#include <cstdio>

#include "csg/error.h"
#include "csg/kde.h"
#include "csg/plot.h"

namespace csg::plot {

namespace {

constexpr double kExtent = 1.3;  // the panels show [-1.3, 1.3]^2 around the unit circle
constexpr int kMapSize = 340;    // heat map pixels per side
constexpr int kPanelW = kSpherePanelW, kTitleH = 92, kPanelH = kSpherePanelH;
static_assert(kPanelH == kTitleH + kMapSize + 24, "panel height: title, map, margin");
// The projection is ONE fixed Gaussian random matrix shared by every panel. Each model's
// features are l2-normalised (directions on S^{C-1}); a random projection treats all directions
// alike, so a model whose features cover more of the sphere shows more of the circle and one
// with collapsed features shows a narrow arc, with nothing fitted per model. PCA per model
// would instead rotate and stretch each panel onto that model's own two widest directions,
// making collapsed and spread features look alike — the opposite of what the figure is for.
constexpr uint64_t kProjectionSeed = 2021;

struct Panel {
  std::string title, subtitle, note;
  std::vector<kde::Point2> points;
  std::vector<int64_t> labels;  // of the kept points
};

std::vector<Panel> project_models(const std::vector<SphereModel>& models, const std::string& what) {
  CSG_CHECK(!models.empty(), what, ": no feature sets to plot");
  const int64_t dim = models[0].features.size(1);
  const std::vector<double> projection = kde::gaussian_projection(dim, kProjectionSeed);
  std::vector<Panel> panels;
  for (const SphereModel& m : models) {
    CSG_CHECK(m.features.dim() == 2 && m.features.size(1) == dim, what, ": features of '", m.title, "' are ",
              shape_str(m.features.shape()), ", expected [N, ", dim, "] like the first model");
    CSG_CHECK(m.labels.empty() || static_cast<int64_t>(m.labels.size()) == m.features.size(0), what, ": '",
              m.title, "' has ", m.labels.size(), " labels for ", m.features.size(0), " feature rows");
    Panel p;
    p.title = m.title;
    p.subtitle = m.subtitle;
    std::vector<int64_t> rows;
    p.points = kde::project_to_circle(m.features, projection, &rows);
    for (int64_t r : rows) p.labels.push_back(m.labels.empty() ? 0 : m.labels[r]);
    panels.push_back(std::move(p));
  }
  return panels;
}

void draw_panel_title(Canvas& c, int x0, const Panel& p) {
  TextStyle st;
  st.halign = HAlign::Center;
  st.scale = 2.2;
  draw_text(c, x0 + kPanelW / 2.0, 12, p.title, st);
  st.scale = 1.8;
  draw_text(c, x0 + kPanelW / 2.0, 42, p.subtitle, st);
  draw_text(c, x0 + kPanelW / 2.0, 64, p.note, st);
}

// Centre and scale of a panel's map on the canvas.
struct MapFrame {
  double left, top, scale;  // scale: pixels per data unit
  double cx() const { return left + kMapSize / 2.0; }
  double cy() const { return top + kMapSize / 2.0; }
};
MapFrame map_frame(int x0) { return {x0 + (kPanelW - kMapSize) / 2.0, double(kTitleH), kMapSize / (2 * kExtent)}; }

}  // namespace

void write_sphere_density(const std::string& path, const std::vector<SphereModel>& models, const std::string& what) {
  const std::vector<Panel> panels = project_models(models, what);
  // Each panel is scaled to its own peak: the figure compares how the features spread over
  // the circle (a full ring vs a narrow arc), and a concentrated model's peak is so much higher
  // that on one shared scale the spread models would vanish. The peak goes into the subtitle.
  Canvas c(kPanelW * static_cast<int>(panels.size()) + kSphereSideW, kPanelH);
  for (size_t k = 0; k < panels.size(); ++k) {
    const std::vector<double> map =
        kde::GaussianKde2(panels[k].points).grid(-kExtent, kExtent, -kExtent, kExtent, kMapSize, kMapSize);
    const double peak = *std::max_element(map.begin(), map.end());
    const int x0 = kPanelW * static_cast<int>(k);
    const MapFrame f = map_frame(x0);
    for (int j = 0; j < kMapSize; ++j)
      for (int i = 0; i < kMapSize; ++i)  // grid row 0 is y = -extent: the bottom row
        c.set(static_cast<int>(f.left) + i, static_cast<int>(f.top) + j,
              viridis(map[static_cast<size_t>(kMapSize - 1 - j) * kMapSize + i] / peak));
    c.circle(f.cx(), f.cy(), f.scale, kWhite, 1.0, 0.6);  // see-through: the density peaks on it
    Panel titled = panels[k];
    char buf[64];
    std::snprintf(buf, sizeof buf, "KDE peak %.3g", peak);
    titled.note = buf;
    draw_panel_title(c, x0, titled);
  }
  colorbar(c, kPanelW * static_cast<int>(panels.size()) + 10, kTitleH, 22, kMapSize, 0, 1,
           "density / panel peak (Gaussian KDE)");
  write_png(c, path);
}

void write_sphere_classes(const std::string& path, const std::vector<SphereModel>& models,
                          const std::vector<std::string>& class_names, const std::string& legend_title,
                          const std::string& what) {
  const std::vector<Panel> panels = project_models(models, what);
  Canvas c(kPanelW * static_cast<int>(panels.size()) + kSphereSideW, kPanelH);
  // Each class on its own concentric ring (class 0 innermost, the last on the unit circle), so
  // classes at the same angle do not hide each other; the angle is the feature's direction.
  // Up to 10 classes the rings are 0.05 apart (the digits figure); more share the same span.
  const int64_t classes = std::max<int64_t>(1, static_cast<int64_t>(class_names.size()));
  const double step = classes <= 10 ? 0.05 : 0.45 / static_cast<double>(classes - 1);
  const int64_t wrap = classes <= 10 ? 10 : classes;
  auto ring = [&](int64_t label) { return 0.55 + step * static_cast<double>(label % wrap); };
  for (size_t k = 0; k < panels.size(); ++k) {
    const int x0 = kPanelW * static_cast<int>(k);
    const MapFrame f = map_frame(x0);
    c.circle(f.cx(), f.cy(), f.scale, kLightGrey, 1.0);
    const Panel& p = panels[k];
    for (size_t i = 0; i < p.points.size(); ++i) {
      const double r = ring(p.labels[i]) * f.scale;
      c.disc(f.cx() + r * p.points[i].x, f.cy() - r * p.points[i].y, 2.0, category_color(int(p.labels[i])), 0.35);
    }
    Panel titled = p;
    titled.note = "class k on ring k (0 inner)";
    draw_panel_title(c, x0, titled);
  }
  TextStyle st;
  st.valign = VAlign::Middle;
  const int lx = kPanelW * static_cast<int>(panels.size()) + 10;
  draw_text(c, lx, kTitleH + 8, legend_title, st);
  const size_t listed = std::min<size_t>(class_names.size(), 12);
  for (size_t d = 0; d < listed; ++d) {
    const double y = kTitleH + 40 + 26 * static_cast<double>(d);
    c.disc(lx + 8, y, 6, category_color(static_cast<int>(d)));
    draw_text(c, lx + 24, y, class_names[d], st);
  }
  write_png(c, path);
}

}  // namespace csg::plot
