// csg/models/deeplab.h — DeepLab for GTA5 -> Cityscapes: a dilated ResNet-50/101 (output
// stride 8) and a segmentation head, with the parameter names of the CSG reference
// checkpoints (`fc_new.conv2d_list.0...`), so its released weights load by name.
#pragma once
#include "csg/models/resnet.h"

namespace csg::models {

// The heads (DeepLabHead) are described in architecture.h.
struct DeepLabOptions {
  int depth = 101;             // 50 or 101 (18 and 34 for small runs)
  int64_t num_classes = 19;    // Cityscapes train ids
  DeepLabHead head = DeepLabHead::AsppCsg;
  int64_t backbone_fc = 0;     // the reference keeps an unused fc (2048 -> 128); 0 omits it
  uint64_t seed = 0;
  bool init_weights = true;    // false: zero parameters, to be loaded (see ResNetOptions)
};

class DeepLab : public ResNet {
 public:
  explicit DeepLab(const DeepLabOptions& opt);
  // x [N,3,H,W] -> logits [N,num_classes,H,W] (head output upsampled, align_corners=True).
  Tensor forward(const Tensor& x) const;
  // layer4 features [N,2048,h,w] -> logits at the feature resolution [N,num_classes,h,w].
  Tensor head_forward(const Tensor& layer4) const;
  // The head's modules (trained with BN in train mode while the backbone stays frozen).
  nn::Module& head() const { return *fc_new_; }
  // What the head was built from (the backbone's is architecture()).
  const DeepLabHeadArchitecture& head_architecture() const { return head_arch_; }
  // Whether its upsamplings (the image-pooling branch, the logits) run their backward in a fixed
  // order on CUDA (upsample_bilinear2d's `deterministic`); off by default, set with the network's
  // numerics (ConvNumerics::deterministic) by whoever trains it.
  void set_deterministic_upsampling(bool on) { deterministic_upsampling_ = on; }
  bool deterministic_upsampling() const { return deterministic_upsampling_; }

  // A conv, its BN and the ReLU after them.
  struct ConvBn {
    std::shared_ptr<nn::Conv2d> conv;
    std::shared_ptr<nn::BatchNorm2d> bn;
    Tensor forward(const Tensor& x) const;  // relu(bn(conv(x)))
  };
  // The head's layers in evaluation order, for an inference compiler that folds them (src/infer).
  struct HeadLayers {
    DeepLabHead kind;
    std::vector<ConvBn> aspp;            // AsppCsg: 1x1, then one per rate
    ConvBn aspp_pool, project, refine;   // AsppCsg: image pooling branch, 1x1 projection, 3x3 refine
    std::shared_ptr<nn::Conv2d> classifier;  // AsppCsg: 1x1 to the classes
    std::vector<std::shared_ptr<nn::Conv2d>> v2;  // AsppV2: the summed 3x3 convs
  };
  HeadLayers head_layers() const {
    return {head_arch_.kind, aspp_branches_, aspp_pool_, project_, refine_, classifier_, v2_branches_};
  }

 private:
  DeepLab(const DeepLabArchitecture& arch, const DeepLabOptions& opt);

  DeepLabHeadArchitecture head_arch_;
  std::shared_ptr<nn::ModuleDict> fc_new_;
  // AsppCsg
  std::vector<ConvBn> aspp_branches_;  // 1x1, then one per rate
  ConvBn aspp_pool_, project_, refine_;
  std::shared_ptr<nn::Conv2d> classifier_;
  // AsppV2
  std::vector<std::shared_ptr<nn::Conv2d>> v2_branches_;
  bool deterministic_upsampling_ = false;
};

}  // namespace csg::models
