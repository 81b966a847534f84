// src/infer/backbone_runner.h — a training network's ResNet backbone run as the inference engine
// runs it, for the passes of a training step that take no gradient: CSG's frozen ImageNet model
// f_eo on the key view, and f_e on the same view for A-pool's attention (src/train/csg_step.cpp).
//
// Those passes are two fifths of a CSG step's arithmetic. On the training ops every convolution
// reorders its input and output between NCHW and oneDNN's blocked layout and batch norm, ReLU and
// the residual add are passes of their own; here batch norm is folded into the convolutions, ReLU
// and the residual add ride on them, activations stay blocked from the stem to the last stage, and
// 3x3 stride-1 convolutions run on Winograd where the CPU has it (docs/onnx.md).
#pragma once
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "csg/models/resnet.h"
#include "src/infer/buffer_pool.h"
#include "src/infer/fused_conv.h"
#include "src/infer/onednn_backend.h"

namespace csg::infer {

class BackboneRunner {
 public:
  // Whether `resnet` on x runs here: no gradient is being recorded, x is an f32 CPU tensor, oneDNN
  // is on (with BF16 instructions where the convolutions compute in BF16: the passes then run on the
  // engine's BF16 path) and every batch norm of the backbone is in eval mode (running statistics,
  // which is what folding assumes).
  static bool applies(const models::ResNet& resnet, const Tensor& x);
  // Whether running here is worth it. A frozen backbone is compiled once: always. A trained one is
  // folded and its weights reordered again before every call, a few passes over its parameters,
  // while the runner saves passes over the activations: only where its stage outputs on x hold at
  // least a tenth as many values as its parameters (ResNet-50 at 224 px, batch 8: a half; ResNet-18
  // at 64 px, batch 8: a fiftieth, where it cost 5 ms of a 150 ms step).
  static bool pays(const models::ResNet& resnet, const Tensor& x);

  // resnet.forward_features(x)'s outputs of the stages s with wanted[s - 1] (the others undefined),
  // equal to it within float rounding (folding; Winograd's transforms, used only where no parameter
  // of the backbone requires grad). The first call compiles the backbone; a later one folds its
  // weights again where any of its parameters or statistics has been written since (a trained f_e:
  // every step; a frozen f_eo: never).
  models::ResNetFeatures features(const models::ResNet& resnet, const Tensor& x, const std::array<bool, 4>& wanted);

  uint64_t folds() const { return folds_; }  // compilations and refolds so far

 private:
  // What one walk over the tensors the folding reads (the stem's and the stages' parameters and
  // statistics) says about them.
  struct Scan {
    std::vector<std::pair<uint64_t, uint64_t>> signature;  // (storage id, version) each: any write changes it
    bool trained = false;                                  // some parameter requires grad
    int64_t parameters = 0;                                // their elements
  };
  static Scan scan(const models::ResNet& resnet);

  const models::ResNet* source_ = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> signature_;
  CompiledNetwork net_;
  OneDnnRunner runner_;
  BufferPool pool_{Device::CPU};
  uint64_t folds_ = 0;
};

}  // namespace csg::infer
