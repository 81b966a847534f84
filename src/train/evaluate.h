// src/train/evaluate.h — zero-shot evaluation on the real target domain.
#pragma once
#include "csg/data/loader.h"
#include "src/train/network.h"

namespace csg::train {

// VisDA: mean class accuracy over the validation images; GTA5 task: mIoU on Cityscapes.
// Prints the per-class table; returns the metric (percent).
double evaluate(const Config& cfg, CsgNetwork& net, const data::Dataset& val, const data::Transform& transform,
                Device dev);

}  // namespace csg::train
