// src/digits/figures.cpp — training curves and the feature-sphere figure (paper Fig. 2)
// of the digits benchmark, drawn with csg/plot.h.
#include "src/digits/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csg/error.h"
#include "csg/kde.h"
#include "csg/plot.h"

namespace csg::train {

namespace {

using plot::Canvas;
using plot::Color;
using plot::HAlign;
using plot::TextStyle;
using plot::VAlign;

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

// ---- training curves ----------------------------------------------------------------------

Color method_color(const std::string& method) { return plot::category_color(method == "CSG" ? 1 : 0); }

void draw_curves(const std::string& path, const std::vector<TrainingRunLog>& runs) {
  std::vector<plot::Series> task, nce;
  std::vector<int> layers_seen;
  for (const TrainingRunLog& run : runs) {
    const auto log = read_training_log(run.csv_path);
    const auto step = log.find("step"), loss = log.find("task");
    CSG_CHECK(step != log.end() && loss != log.end(), run.csv_path, ": training log lacks the step/task columns");
    task.push_back({run.method, step->second, loss->second, method_color(run.method), 2.0});
    for (int layer = 1; layer <= 4; ++layer) {
      const auto col = log.find("nce_layer" + std::to_string(layer));
      if (col == log.end()) continue;
      if (std::find(layers_seen.begin(), layers_seen.end(), layer) == layers_seen.end()) layers_seen.push_back(layer);
      const int colour = 2 + static_cast<int>(std::find(layers_seen.begin(), layers_seen.end(), layer) -
                                              layers_seen.begin());
      nce.push_back({run.method + " layer" + std::to_string(layer), step->second, col->second,
                     plot::category_color(colour), 2.0});
    }
  }
  CSG_CHECK(!task.empty(), "digits figures: no training logs to plot");
  const int panel_w = 720, h = 560;
  Canvas canvas(2 * panel_w, h);
  plot::ChartOptions o;
  o.title = "task loss on synthetic digits (one line per seed)";
  o.x_label = "training step";
  o.y_label = "cross-entropy";
  plot::line_chart(canvas, {0, 0, panel_w, h}, task, o);
  if (!nce.empty()) {
    o.title = "CSG: InfoNCE loss per layer (one line per seed)";
    o.y_label = "InfoNCE loss";
    plot::line_chart(canvas, {panel_w, 0, panel_w, h}, nce, o);
  } else {
    TextStyle st;
    st.halign = HAlign::Center, st.valign = VAlign::Middle;
    plot::draw_text(canvas, panel_w * 1.5, h / 2.0, "no InfoNCE columns in the logs (no CSG run)", st);
  }
  plot::write_png(canvas, path);
}

// ---- feature sphere -----------------------------------------------------------------------

constexpr double kExtent = 1.3;  // the panels show [-1.3, 1.3]^2 around the unit circle
constexpr int kMapSize = 340;    // heat map pixels per side
constexpr int kPanelW = 420, kTitleH = 92, kPanelH = kTitleH + kMapSize + 24;
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

std::vector<Panel> project_models(const std::vector<SphereFeatures>& models) {
  CSG_CHECK(!models.empty(), "digits figures: no feature sets to plot");
  const int64_t dim = models[0].features.size(1);
  const std::vector<double> projection = kde::gaussian_projection(dim, kProjectionSeed);
  std::vector<Panel> panels;
  for (const SphereFeatures& m : models) {
    CSG_CHECK(m.features.dim() == 2 && m.features.size(1) == dim, "digits figures: features of '", m.model,
              "' are ", shape_str(m.features.shape()), ", expected [N, ", dim, "] like the first model");
    CSG_CHECK(m.labels.empty() || static_cast<int64_t>(m.labels.size()) == m.features.size(0),
              "digits figures: '", m.model, "' has ", m.labels.size(), " labels for ", m.features.size(0),
              " feature rows");
    Panel p;
    p.title = m.model;
    char buf[128];
    std::snprintf(buf, sizeof buf, "E0 = %.4f   n = %lld", m.e0, static_cast<long long>(m.features.size(0)));
    p.subtitle = buf;
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
  plot::draw_text(c, x0 + kPanelW / 2.0, 12, p.title, st);
  st.scale = 1.8;
  plot::draw_text(c, x0 + kPanelW / 2.0, 42, p.subtitle, st);
  plot::draw_text(c, x0 + kPanelW / 2.0, 64, p.note, st);
}

// Centre and scale of a panel's map on the canvas.
struct MapFrame {
  double left, top, scale;  // scale: pixels per data unit
  double cx() const { return left + kMapSize / 2.0; }
  double cy() const { return top + kMapSize / 2.0; }
};
MapFrame map_frame(int x0) { return {x0 + (kPanelW - kMapSize) / 2.0, double(kTitleH), kMapSize / (2 * kExtent)}; }

void draw_density_figure(const std::string& path, const std::vector<Panel>& panels) {
  // Each panel is scaled to its own peak: the figure compares how the features spread over
  // the circle (a full ring vs a narrow arc), and a concentrated model's peak is so much higher
  // that on one shared scale the spread models would vanish. The peak goes into the subtitle.
  const int bar_w = 150;
  Canvas c(kPanelW * static_cast<int>(panels.size()) + bar_w, kPanelH);
  for (size_t k = 0; k < panels.size(); ++k) {
    const std::vector<double> map =
        kde::GaussianKde2(panels[k].points).grid(-kExtent, kExtent, -kExtent, kExtent, kMapSize, kMapSize);
    const double peak = *std::max_element(map.begin(), map.end());
    const int x0 = kPanelW * static_cast<int>(k);
    const MapFrame f = map_frame(x0);
    for (int j = 0; j < kMapSize; ++j)
      for (int i = 0; i < kMapSize; ++i)  // grid row 0 is y = -extent: the bottom row
        c.set(static_cast<int>(f.left) + i, static_cast<int>(f.top) + j,
              plot::viridis(map[static_cast<size_t>(kMapSize - 1 - j) * kMapSize + i] / peak));
    c.circle(f.cx(), f.cy(), f.scale, plot::kWhite, 1.0, 0.6);  // see-through: the density peaks on it
    Panel titled = panels[k];
    char buf[64];
    std::snprintf(buf, sizeof buf, "KDE peak %.3g", peak);
    titled.note = buf;
    draw_panel_title(c, x0, titled);
  }
  plot::colorbar(c, kPanelW * static_cast<int>(panels.size()) + 10, kTitleH, 22, kMapSize, 0, 1,
                 "density / panel peak (Gaussian KDE)");
  plot::write_png(c, path);
}

void draw_class_figure(const std::string& path, const std::vector<Panel>& panels) {
  const int legend_w = 150;
  Canvas c(kPanelW * static_cast<int>(panels.size()) + legend_w, kPanelH);
  // Each class on its own concentric ring (class 0 innermost, class 9 on the unit circle), so
  // classes at the same angle do not hide each other; the angle is the feature's direction.
  auto ring = [](int64_t label) { return 0.55 + 0.05 * static_cast<double>(label % 10); };
  for (size_t k = 0; k < panels.size(); ++k) {
    const int x0 = kPanelW * static_cast<int>(k);
    const MapFrame f = map_frame(x0);
    c.circle(f.cx(), f.cy(), f.scale, plot::kLightGrey, 1.0);
    const Panel& p = panels[k];
    for (size_t i = 0; i < p.points.size(); ++i) {
      const double r = ring(p.labels[i]) * f.scale;
      c.disc(f.cx() + r * p.points[i].x, f.cy() - r * p.points[i].y, 2.0, plot::category_color(int(p.labels[i])), 0.35);
    }
    Panel titled = p;
    titled.note = "class k on ring k (0 inner)";
    draw_panel_title(c, x0, titled);
  }
  TextStyle st;
  st.valign = VAlign::Middle;
  const int lx = kPanelW * static_cast<int>(panels.size()) + 10;
  plot::draw_text(c, lx, kTitleH + 8, "digit", st);
  for (int d = 0; d < 10; ++d) {
    const double y = kTitleH + 40 + 26 * d;
    c.disc(lx + 8, y, 6, plot::category_color(d));
    plot::draw_text(c, lx + 24, y, std::to_string(d), st);
  }
  plot::write_png(c, path);
}

}  // namespace

std::map<std::string, std::vector<double>> read_training_log(const std::string& path) {
  std::ifstream in(path);
  CSG_CHECK(in.good(), path, ": cannot open the training log (was the run written to this directory?)");
  std::string line;
  CSG_CHECK(std::getline(in, line) && !line.empty(), path, ": empty training log (no header line)");
  const std::vector<std::string> names = split_csv(line);
  std::map<std::string, std::vector<double>> cols;
  for (const std::string& n : names) cols[n];
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = split_csv(line);
    for (size_t k = 0; k < names.size(); ++k) {
      double v = NAN;
      if (k < cells.size() && !cells[k].empty()) {
        char* end = nullptr;
        const double parsed = std::strtod(cells[k].c_str(), &end);
        if (end && *end == '\0') v = parsed;
      }
      cols[names[k]].push_back(v);
    }
  }
  return cols;
}

DigitsFigurePaths write_digits_figures(const std::string& out_dir, const std::vector<TrainingRunLog>& runs,
                                       const std::vector<SphereFeatures>& models) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  DigitsFigurePaths paths;
  paths.curves = (fs::path(out_dir) / "curves.png").string();
  paths.sphere = (fs::path(out_dir) / "figure2_sphere.png").string();
  paths.sphere_classes = (fs::path(out_dir) / "figure2_sphere_classes.png").string();
  draw_curves(paths.curves, runs);
  const std::vector<Panel> panels = project_models(models);
  draw_density_figure(paths.sphere, panels);
  draw_class_figure(paths.sphere_classes, panels);
  return paths;
}

}  // namespace csg::train
