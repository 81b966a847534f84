// src/digits/figures.h — the figures of the digits benchmark: training curves from the
// runs' CSV logs, and the paper's Figure 2 (real-digit features on the unit circle with a
// kernel density estimate, one panel per model).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg::train {

// One training run's log (<run dir>/log.csv as run_training writes it).
struct TrainingRunLog {
  std::string method;  // "baseline" or "CSG": one colour each in the curves
  uint64_t seed = 0;
  std::string csv_path;
};

// Pooled layer4 features of one model on the real test digits.
struct SphereFeatures {
  std::string model;            // panel title
  Tensor features;              // [N, C], not normalised (the figure uses directions only)
  std::vector<int64_t> labels;  // N digit classes (for the class-coloured figure)
  double e0 = 0;                // hyperspherical energy E_0 of the same features
};

struct DigitsFigurePaths {
  std::string curves, sphere, sphere_classes;
};

// Column name -> values of a training log CSV (numeric cells; an empty or unparsable cell
// is NaN). Throws csg::Error naming the file if it is missing or has no header.
std::map<std::string, std::vector<double>> read_training_log(const std::string& path);

// Writes <out_dir>/curves.png (task loss per run; CSG's InfoNCE loss per layer),
// <out_dir>/figure2_sphere.png (one density panel per model, titled with its E_0) and
// <out_dir>/figure2_sphere_classes.png (the same directions coloured by class), and returns
// their paths. All models must have the same feature width (one shared projection).
DigitsFigurePaths write_digits_figures(const std::string& out_dir, const std::vector<TrainingRunLog>& runs,
                                       const std::vector<SphereFeatures>& models);

}  // namespace csg::train
