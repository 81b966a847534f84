// src/train/evaluate.h — zero-shot evaluation on the real target domain.
#pragma once
#include "csg/data/loader.h"
#include "src/train/network.h"

namespace csg::train {

// VisDA: mean class accuracy over the validation images, scored as the reference does with the
// flip-averaged sigmoids unless cfg.flip_tta is false (src/train/flip_tta.h); GTA5 task: mIoU on
// Cityscapes (whole images, no flip, as the reference).
// Prints the per-class table; returns the metric (percent).
double evaluate(const Config& cfg, CsgNetwork& net, const data::Dataset& val, const data::Transform& transform,
                Device dev);

// The globally pooled layer4 features of f_e (the model in `checkpoint`; empty: cfg.weights)
// on the first `max_images` validation images (all when <= 0), in loader order, with their
// labels: what run_hse measures and the feature-sphere figure shows.
struct PooledFeatures {
  Tensor features;              // [N, C] float on the CPU, not normalised
  std::vector<int64_t> labels;  // N class ids
};
PooledFeatures pooled_layer4_features(const Config& cfg, const std::string& checkpoint, int64_t max_images);

}  // namespace csg::train
