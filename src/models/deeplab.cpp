// src/models/deeplab.cpp — DeepLab's two heads on the dilated ResNet, built from their
// description (architecture.h) with the reference checkpoints' parameter names.
#include "csg/models/deeplab.h"

#include "csg/nn_init.h"
#include "src/models/conv_bn.h"

namespace csg::models {

DeepLab::DeepLab(const DeepLabOptions& opt) : DeepLab(deeplab_architecture(opt.depth, opt.head), opt) {}

DeepLab::DeepLab(const DeepLabArchitecture& arch, const DeepLabOptions& opt)
    : ResNet(arch.backbone, opt.backbone_fc, opt.seed, opt.init_weights), head_arch_(arch.head) {
  nn::InitGuard init(opt.init_weights);
  Generator gen(opt.seed + 1);
  fc_new_ = register_module("fc_new", std::make_shared<nn::ModuleDict>());
  auto list = fc_new_->add("conv2d_list", std::make_shared<nn::ModuleDict>());
  const DeepLabHeadArchitecture& h = head_arch_;
  const int64_t in = h.in_channels;
  if (h.kind == DeepLabHead::AsppV2) {
    int i = 0;
    for (int64_t rate : h.rates)
      v2_branches_.push_back(list->add(std::to_string(i++), std::make_shared<nn::Conv2d>(in, opt.num_classes, 3, 1,
                                                                                          rate, rate, true, gen)));
    return;
  }
  // Reference layout: conv2d_list.0 = Sequential(ASPP, conv3x3, BN, ReLU, conv1x1).
  auto seq = list->add("0", std::make_shared<nn::ModuleDict>());
  auto aspp = seq->add("0", std::make_shared<nn::ModuleDict>());
  auto convs = aspp->add("convs", std::make_shared<nn::ModuleDict>());
  auto conv_bn = [&](nn::ModuleDict& parent, const std::string& conv_idx, const std::string& bn_idx, int64_t cin,
                     int64_t k, int64_t dil) {
    ConvBn cb;
    cb.conv =
        parent.add(conv_idx, std::make_shared<nn::Conv2d>(cin, h.width, k, 1, k == 3 ? dil : 0, dil, false, gen));
    cb.bn = parent.add(bn_idx, std::make_shared<nn::BatchNorm2d>(h.width));
    return cb;
  };
  {
    auto b0 = convs->add("0", std::make_shared<nn::ModuleDict>());
    aspp_branches_.push_back(conv_bn(*b0, "0", "1", in, 1, 1));
  }
  int i = 1;
  for (int64_t rate : h.rates) {
    auto b = convs->add(std::to_string(i++), std::make_shared<nn::ModuleDict>());
    aspp_branches_.push_back(conv_bn(*b, "0", "1", in, 3, rate));
  }
  // The pooling branch follows the rates; its index 0 is the (parameterless) pooling.
  auto pool = convs->add(std::to_string(i), std::make_shared<nn::ModuleDict>());
  aspp_pool_ = conv_bn(*pool, "1", "2", in, 1, 1);
  auto project = aspp->add("project", std::make_shared<nn::ModuleDict>());
  project_ = conv_bn(*project, "0", "1", h.concat_branches() * h.width, 1, 1);
  refine_ = conv_bn(*seq, "1", "2", h.width, 3, 1);
  classifier_ = seq->add("4", std::make_shared<nn::Conv2d>(h.width, opt.num_classes, 1, 1, 0, 1, true, gen));
}

Tensor DeepLab::ConvBn::forward(const Tensor& x) const { return relu(conv_bn(*conv, *bn, x)); }

Tensor DeepLab::head_forward(const Tensor& f4) const {
  if (head_arch_.kind == DeepLabHead::AsppV2) {
    // On the CPU in f32: one matrix product for the four branches (dilated_conv_sum in csg/ops.h).
    if (!f4.is_cuda() && !v2_branches_[0]->opt.numerics.bf16()) {
      std::vector<Tensor> weights, biases;
      std::vector<int64_t> dilations;
      for (const auto& branch : v2_branches_) {
        weights.push_back(branch->weight);
        biases.push_back(branch->bias);
        dilations.push_back(branch->opt.dilation_h);  // padding = dilation, stride 1: as built above
      }
      return dilated_conv_sum(f4, weights, biases, dilations);
    }
    Tensor out = v2_branches_[0]->forward(f4);
    for (size_t i = 1; i < v2_branches_.size(); ++i) out = add(out, v2_branches_[i]->forward(f4));
    return out;
  }
  const int64_t h = f4.size(2), w = f4.size(3);
  std::vector<Tensor> branches;
  for (const ConvBn& b : aspp_branches_) branches.push_back(b.forward(f4));
  Tensor pooled = aspp_pool_.forward(adaptive_avg_pool2d(f4, 1, 1));
  branches.push_back(upsample_bilinear2d(pooled, h, w, /*align_corners=*/false, deterministic_upsampling_));
  Tensor x = project_.forward(cat(branches, 1));
  x = dropout(x, head_arch_.dropout, fc_new_->is_training());
  x = refine_.forward(x);
  return classifier_->forward(x);
}

Tensor DeepLab::forward(const Tensor& x) const {
  Tensor logits = head_forward(forward_features(x).layer[3]);
  return upsample_bilinear2d(logits, x.size(2), x.size(3), /*align_corners=*/true, deterministic_upsampling_);
}

}  // namespace csg::models
