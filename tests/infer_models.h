// tests/infer_models.h — small networks with non-trivial batch norm, and their ModelInfo, for the
// tests of the inference engine (test_infer.cpp) and of the ONNX export (test_onnx_export.cpp).
#pragma once
#include <memory>

#include "csg/infer.h"
#include "csg/models/deeplab.h"
#include "csg/nn.h"

namespace csg::testing {

// BN statistics and affine parameters away from their (foldable-to-identity) defaults, so the
// folding is exercised; a fresh network has mean 0, var 1, gamma 1, beta 0.
void randomise_batch_norm(nn::Module& net, uint64_t seed);

// The weights of `net` under `info`, with the default class names.
infer::ModelWeights weights_of(const nn::Module& net, infer::ModelInfo info);

// max |a - b| / max |b|: the relative error of a whole logit tensor.
double relative_error(const Tensor& got, const Tensor& want);

Tensor random_input(const Shape& s, uint64_t seed);

infer::ModelInfo resnet_info(int depth, int64_t width, int64_t classes);  // a torchvision "fc" head

// A DeepLab on a dilated ResNet-18 with 5 classes and every BN away from its defaults (the head's
// BN layers too: every running_var/mean got one), in eval mode, and its ModelInfo; its input.
std::unique_ptr<models::DeepLab> test_deeplab(models::DeepLabHead head);
infer::ModelInfo test_deeplab_info(models::DeepLabHead head);
Tensor test_deeplab_input();

}  // namespace csg::testing
