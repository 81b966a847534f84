// tests/train_fixtures.h — small training configurations and model files the training, run-folder
// and command tests share: seconds per run on the tiny data sets of csg/data/tiny.h.
#pragma once
#include <string>

#include "csg/infer.h"
#include "csg/train.h"

namespace csg::testing {

// VisDA on data::write_tiny_visda's images: ResNet-18 at width 8, 32 px, batch 8, layer 4 only,
// no workers, a log row per step, no evaluation, quiet. Set max_steps.
train::Config tiny_visda_config(const std::string& data, const std::string& out = "");

// GTA5 on data::write_tiny_gta5_cityscapes's <root>/gta5: dilated ResNet-18 at width 8, crop 32,
// batch 2, 2x2 dense-NCE chunks, no workers, no evaluation, quiet. Set max_steps.
train::Config tiny_gta5_config(const std::string& root, const std::string& out = "");

// A DeepLab-18 model file (aspp-v2 head, Cityscapes' 19 classes, random weights) at `path`; returns
// what it holds.
infer::ModelWeights write_tiny_segmentation_model(const std::string& path);

}  // namespace csg::testing
