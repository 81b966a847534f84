// csg/models/resnet.h — ResNet-18/34/50/101 exactly as torchvision builds them (v1.5: the
// stride of a bottleneck sits on its 3x3 conv), with the parameter names of torchvision's
// state_dict, access to the outputs of layer1..layer4, and optional dilation of layer3/4
// (torchvision's replace_stride_with_dilation, which DeepLab's output stride 8 uses), and a
// choice of stem for small images.
#pragma once
#include <array>
#include <memory>
#include <string>

#include "csg/models/architecture.h"
#include "csg/nn.h"

namespace csg::models {

// Every block maps [N,inplanes,H,W] -> [N,planes*expansion,H/stride,W/stride].
class Block : public nn::Module {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;
  virtual void freeze_batch_norm() = 0;  // BN weight/bias no longer trained (BN runs Frozen in eval)
};

class BasicBlock : public Block {  // 3x3 -> 3x3, expansion 1 (ResNet-18/34)
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample, Generator& gen);
  Tensor forward(const Tensor& x) const override;
  void freeze_batch_norm() override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Conv2d> down_conv;  // "downsample.0" (1x1, stride), or null
  std::shared_ptr<nn::BatchNorm2d> down_bn;  // "downsample.1"
};

class Bottleneck : public Block {  // 1x1 -> 3x3 (stride, dilation) -> 1x1, expansion 4 (ResNet-50/101)
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample, Generator& gen);
  Tensor forward(const Tensor& x) const override;
  void freeze_batch_norm() override;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::Conv2d> down_conv;
  std::shared_ptr<nn::BatchNorm2d> down_bn;
};

// The stems (Stem, their words, stem_name and parse_stem) are described in architecture.h.
// The max pool after a stem that has one (stem.max_pool), as pooling options.
Pool2dOptions stem_max_pool(const StemArchitecture& stem);

struct ResNetOptions {
  int depth = 50;             // 18, 34, 50 or 101
  int64_t num_classes = 1000;  // size of `fc`; 0 builds no fc
  bool dilate_layer3 = false;  // stride 1, dilation 2 in layer3 (output stride 16)
  bool dilate_layer4 = false;  // stride 1, dilation 2x in layer4 (output stride 8 with layer3)
  uint64_t seed = 0;           // initialisation (torchvision's scheme)
  int64_t width = 64;          // planes of layer1 (torchvision: 64); smaller for CPU-sized models
  Stem stem = Stem::ImageNet;  // conv1 and the max pool (see Stem)
  // false: parameters start at zero instead of torchvision's random draw, for a model built to
  // receive a checkpoint (saves about a second for ResNet-101 on a 2-core CPU; csg/nn_init.h).
  bool init_weights = true;
};

// The outputs of the four stages (post-ReLU), as CSG's multi-layer contrastive loss needs.
struct ResNetFeatures {
  std::array<Tensor, 4> layer;  // layer[0] = layer1 ... layer[3] = layer4
};

class ResNet : public nn::Module {
 public:
  explicit ResNet(const ResNetOptions& opt);
  // x [N,3,H,W] -> logits [N,num_classes] (global average pool of layer4, then fc).
  Tensor forward(const Tensor& x) const;
  // conv1 .. layer4; fills every stage output.
  ResNetFeatures forward_features(const Tensor& x) const;
  int64_t feature_channels() const { return arch_.feature_channels(); }  // channels of layer4
  int64_t stage_channels(int stage) const { return arch_.stage_channels(stage); }  // stage 1..4
  // Every backbone BN's weight and bias stop requiring grad (DeepLab's frozen backbone BN).
  void freeze_batch_norm();
  Stem stem() const { return arch_.stem.kind; }
  // What it was built from: the stem, and every stage's blocks, widths, strides and dilations.
  const ResNetArchitecture& architecture() const { return arch_; }

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::array<std::shared_ptr<nn::Sequential<Block>>, 4> layers;  // "layer1".."layer4"
  std::shared_ptr<nn::Linear> fc;                                // null when num_classes == 0

 protected:
  // The network `arch` describes (DeepLab passes its dilated backbone); fc when num_classes > 0.
  ResNet(const ResNetArchitecture& arch, int64_t num_classes, uint64_t seed, bool init_weights);

 private:
  ResNetArchitecture arch_;
};

// "resnet101" -> depth 101; an Error naming the accepted names otherwise.
int resnet_depth_from_name(const std::string& arch);

}  // namespace csg::models
