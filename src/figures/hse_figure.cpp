// src/figures/hse_figure.cpp — `csg hse` over several models, with the feature-sphere figure.
#include "src/figures/hse_figure.h"

#include <cstdio>
#include <filesystem>

#include "csg/error.h"
#include "csg/infer.h"
#include "csg/metrics.h"
#include "csg/sphere_figure.h"
#include "src/train/evaluate.h"

namespace csg::figures {

namespace fs = std::filesystem;

std::string model_title(const HseModel& m) {
  std::string t;
  if (!m.checkpoint.empty()) {
    const fs::path p(m.checkpoint);
    const std::string run = p.parent_path().filename().string();
    t = (run.empty() ? "" : run + "/") + p.stem().string();
  } else {
    t = m.cfg.weights.empty() ? "random init" : fs::path(m.cfg.weights).stem().string();
  }
  constexpr size_t kMax = 34;  // what fits a 420-pixel panel title; the end tells runs apart
  return t.size() > kMax ? "..." + t.substr(t.size() - (kMax - 3)) : t;
}

std::string classes_figure_path(const std::string& figure) {
  const fs::path p(figure);
  return (p.parent_path() / (p.stem().string() + "_classes" + p.extension().string())).string();
}

std::vector<HseResult> run_hse_models(const std::vector<HseModel>& models, int64_t max_images,
                                      const std::string& figure) {
  CSG_CHECK(!models.empty(), "hse: no model to measure");
  std::vector<HseResult> results;
  std::vector<plot::SphereModel> panels;
  for (const HseModel& m : models) {
    train::PooledFeatures f = train::pooled_layer4_features(m.cfg, m.checkpoint, max_images);
    const HypersphericalEnergies e = hyperspherical_energies(f.features);
    HseResult r;
    r.title = model_title(m);
    r.e0 = e.e0, r.e1 = e.e1, r.e2 = e.e2;
    r.images = f.features.size(0);
    results.push_back(r);
    char sub[128];
    std::snprintf(sub, sizeof sub, "E0 = %.4f   n = %lld", e.e0, static_cast<long long>(r.images));
    panels.push_back({r.title, sub, f.features, f.labels});
  }
  if (!figure.empty()) {
    const fs::path dir = fs::path(figure).parent_path();
    if (!dir.empty()) fs::create_directories(dir);
    plot::write_sphere_density(figure, panels, "hse --figure");
    const int64_t classes = models[0].cfg.num_classes;
    plot::write_sphere_classes(classes_figure_path(figure), panels,
                               infer::default_class_names(infer::Task::Classification, classes), "class",
                               "hse --figure");
  }
  return results;
}

}  // namespace csg::figures
