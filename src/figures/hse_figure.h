// src/figures/hse_figure.h — `csg hse` over one or more models: the hyperspherical energies of
// each model's pooled layer4 features on the target images and, optionally, the feature-sphere
// figure (paper Figures 2 and 6) with one panel per model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/train.h"

namespace csg::figures {

struct HseModel {
  train::Config cfg;       // the network settings (the checkpoint's, when there is one)
  std::string checkpoint;  // empty: cfg.weights (ImageNet) or random initialisation
};
struct HseResult {
  std::string title;  // the model's panel title
  double e0 = 0, e1 = 0, e2 = 0;
  int64_t images = 0;
};

// A short name for a model: "<run folder>/<checkpoint stem>", the weights' stem, or "random init".
std::string model_title(const HseModel& model);

// Measures every model on up to `max_images` target images (0: all). With a `figure` path,
// writes the KDE figure there and the class-coloured one beside it (<figure stem>_classes.png).
std::vector<HseResult> run_hse_models(const std::vector<HseModel>& models, int64_t max_images,
                                      const std::string& figure);

// <dir>/<stem>_classes<ext> of a figure path.
std::string classes_figure_path(const std::string& figure);

}  // namespace csg::figures
