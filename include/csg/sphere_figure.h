// csg/sphere_figure.h — the paper's feature-sphere figures (Figures 2 and 6) for any data set:
// each model's features go through ONE fixed random projection to 2-D and onto the unit circle
// (csg/kde.h), drawn as a Gaussian-KDE heat map (Scott's rule) and as dots coloured by class,
// one panel per model. The digits benchmark and `csg hse --figure` both draw with these.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg::plot {

struct SphereModel {
  std::string title;             // panel title (the model)
  std::string subtitle;          // second line, e.g. "E0 = 0.1234   n = 500"
  Tensor features;               // [N, C], any scale: only directions are drawn
  std::vector<int64_t> labels;   // N classes (the class figure), or empty (all class 0)
};

// Panel geometry, fixed so figures of different runs line up: a panel is kSpherePanelW wide
// and kSpherePanelH tall; the density figure adds a 150-pixel colour bar, the class figure a
// 150-pixel legend, so a figure of M models is M * 420 + 150 by 456 pixels.
constexpr int kSpherePanelW = 420, kSpherePanelH = 92 + 340 + 24, kSphereSideW = 150;

// One KDE heat map per model, each scaled to its own peak (the peak goes into the panel).
// Throws csg::Error (prefixed by `what`) if there is no model, or the feature widths differ
// (one shared projection), or labels do not match the rows.
void write_sphere_density(const std::string& path, const std::vector<SphereModel>& models,
                          const std::string& what = "sphere figure");
// The same directions as dots coloured by class, class k on ring k (0 innermost), with a
// legend of `class_names` under `legend_title` (at most 12 entries are listed).
void write_sphere_classes(const std::string& path, const std::vector<SphereModel>& models,
                          const std::vector<std::string>& class_names, const std::string& legend_title,
                          const std::string& what = "sphere figure");

}  // namespace csg::plot
