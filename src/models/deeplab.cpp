// src/models/deeplab.cpp — DeepLab's two heads on the dilated ResNet.
#include "csg/models/deeplab.h"

#include "csg/nn_init.h"

namespace csg::models {

namespace {
ResNetOptions backbone_options(const DeepLabOptions& opt) {
  // The paper uses 50 and 101; 18 and 34 build too (small models for tests and CPU runs).
  CSG_CHECK(opt.depth == 18 || opt.depth == 34 || opt.depth == 50 || opt.depth == 101, "DeepLab: depth ", opt.depth,
            " is not 18, 34, 50 or 101");
  ResNetOptions r;
  r.depth = opt.depth;
  r.num_classes = opt.backbone_fc;
  r.dilate_layer3 = r.dilate_layer4 = true;  // output stride 8, as the reference's layer3/layer4
  r.seed = opt.seed;
  r.init_weights = opt.init_weights;
  return r;
}
}  // namespace

DeepLab::DeepLab(const DeepLabOptions& opt) : ResNet(backbone_options(opt)), head_kind_(opt.head) {
  nn::InitGuard init(opt.init_weights);
  Generator gen(opt.seed + 1);
  fc_new_ = register_module("fc_new", std::make_shared<nn::ModuleDict>());
  auto list = fc_new_->add("conv2d_list", std::make_shared<nn::ModuleDict>());
  const int64_t in = feature_channels();
  if (head_kind_ == DeepLabHead::AsppV2) {
    int i = 0;
    for (int64_t rate : {6, 12, 18, 24})
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
    cb.conv = parent.add(conv_idx, std::make_shared<nn::Conv2d>(cin, 256, k, 1, k == 3 ? dil : 0, dil, false, gen));
    cb.bn = parent.add(bn_idx, std::make_shared<nn::BatchNorm2d>(256));
    return cb;
  };
  {
    auto b0 = convs->add("0", std::make_shared<nn::ModuleDict>());
    aspp_branches_.push_back(conv_bn(*b0, "0", "1", in, 1, 1));
  }
  int i = 1;
  for (int64_t rate : {12, 24, 36}) {
    auto b = convs->add(std::to_string(i++), std::make_shared<nn::ModuleDict>());
    aspp_branches_.push_back(conv_bn(*b, "0", "1", in, 3, rate));
  }
  auto pool = convs->add("4", std::make_shared<nn::ModuleDict>());  // index 0 is the (parameterless) pooling
  aspp_pool_ = conv_bn(*pool, "1", "2", in, 1, 1);
  auto project = aspp->add("project", std::make_shared<nn::ModuleDict>());
  project_ = conv_bn(*project, "0", "1", 5 * 256, 1, 1);
  refine_ = conv_bn(*seq, "1", "2", 256, 3, 1);
  classifier_ = seq->add("4", std::make_shared<nn::Conv2d>(256, opt.num_classes, 1, 1, 0, 1, true, gen));
}

Tensor DeepLab::head_forward(const Tensor& f4) const {
  if (head_kind_ == DeepLabHead::AsppV2) {
    Tensor out = v2_branches_[0]->forward(f4);
    for (size_t i = 1; i < v2_branches_.size(); ++i) out = add(out, v2_branches_[i]->forward(f4));
    return out;
  }
  const int64_t h = f4.size(2), w = f4.size(3);
  std::vector<Tensor> branches;
  for (const ConvBn& b : aspp_branches_) branches.push_back(b.forward(f4));
  Tensor pooled = aspp_pool_.forward(adaptive_avg_pool2d(f4, 1, 1));
  branches.push_back(upsample_bilinear2d(pooled, h, w, /*align_corners=*/false));
  Tensor x = project_.forward(cat(branches, 1));
  x = dropout(x, 0.5, fc_new_->is_training());
  x = refine_.forward(x);
  return classifier_->forward(x);
}

Tensor DeepLab::forward(const Tensor& x) const {
  Tensor logits = head_forward(forward_features(x).layer[3]);
  return upsample_bilinear2d(logits, x.size(2), x.size(3), /*align_corners=*/true);
}

}  // namespace csg::models
