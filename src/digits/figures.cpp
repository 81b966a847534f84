// src/digits/figures.cpp — training curves and the feature-sphere figure (paper Fig. 2) of the
// digits benchmark: the curves drawn with csg/plot.h, the sphere with csg/sphere_figure.h.
#include "src/digits/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csg/error.h"
#include "csg/plot.h"
#include "csg/sphere_figure.h"

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

// The digits' panels: the model, its E_0 and point count; the rest is csg/sphere_figure.h.
std::vector<plot::SphereModel> sphere_models(const std::vector<SphereFeatures>& models) {
  std::vector<plot::SphereModel> out;
  for (const SphereFeatures& m : models) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "E0 = %.4f   n = %lld", m.e0, static_cast<long long>(m.features.size(0)));
    out.push_back({m.model, buf, m.features, m.labels});
  }
  return out;
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
  const std::vector<plot::SphereModel> panels = sphere_models(models);
  plot::write_sphere_density(paths.sphere, panels, "digits figures");
  plot::write_sphere_classes(paths.sphere_classes, panels, {"5", "6", "7", "8", "9"}, "digit",
                             "digits figures");
  return paths;
}

}  // namespace csg::train
