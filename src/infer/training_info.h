// src/infer/training_info.h — the ModelInfo of the network a `csg train` run trains, written
// into its checkpoints (metadata "model") so that export and predict rebuild it without flags.
#pragma once
#include "csg/infer.h"
#include "csg/train.h"

namespace csg::infer {

// arch, width, classes (default names), head ("mlp" for VisDA, --seg-head for GTA5), the
// evaluation preprocessing (VisDA: resize = crop = image_size; GTA5: images at their size)
// and ImageNet mean/std, as the training data pipeline uses them.
ModelInfo training_model_info(const train::Config& cfg);

}  // namespace csg::infer
