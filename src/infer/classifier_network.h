// src/infer/classifier_network.h — the training-time classification networks a model file can
// hold: a torchvision ResNet (its own "fc") or a ResNet whose pooled layer4 features go through
// CSG's VisDA classifier "head" (Linear 512, ReLU, Linear; src/train/network.h ClassifierHead).
#pragma once
#include <memory>

#include "csg/models/resnet.h"

namespace csg::infer {

class MlpHeadResNet : public models::ResNet {
 public:
  // `backbone.num_classes` must be 0; parameters start at zero (they are loaded).
  MlpHeadResNet(const models::ResNetOptions& backbone, int64_t num_classes);
  Tensor forward(const Tensor& x) const;  // [N,3,H,W] -> [N,num_classes]
  std::shared_ptr<nn::Linear> fc1, fc2;   // "head.0", "head.2"
};

}  // namespace csg::infer
