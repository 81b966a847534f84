// src/models/resnet.cpp — torchvision's ResNet, block by block.
#include "csg/models/resnet.h"

#include "csg/nn_init.h"

namespace csg::models {

namespace {
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                                 Generator& gen) {
  auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, pad, dil, /*bias=*/false, gen);
  nn::kaiming_normal_fan_out(c->weight, gen);  // torchvision: kaiming_normal_(mode="fan_out", relu)
  return c;
}
}  // namespace

BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample,
                       Generator& gen) {
  conv1 = register_module("conv1", conv(inplanes, planes, 3, stride, dilation, dilation, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, dilation, dilation, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  if (downsample) {
    auto seq = register_module("downsample", std::make_shared<nn::Sequential<nn::Module>>());
    down_conv = conv(inplanes, planes, 1, stride, 0, 1, gen);
    down_bn = std::make_shared<nn::BatchNorm2d>(planes);
    seq->push_back(down_conv);
    seq->push_back(down_bn);
  }
}

Tensor BasicBlock::forward(const Tensor& x) const {
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  Tensor identity = down_conv ? down_bn->forward(down_conv->forward(x)) : x;
  return relu(add(out, identity));
}

void BasicBlock::freeze_batch_norm() {
  for (auto* bn : {&bn1, &bn2, &down_bn})
    if (*bn) (*bn)->freeze();
}

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation, bool downsample,
                       Generator& gen) {
  conv1 = register_module("conv1", conv(inplanes, planes, 1, 1, 0, 1, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, dilation, dilation, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0, 1, gen));
  bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(planes * kExpansion));
  if (downsample) {
    auto seq = register_module("downsample", std::make_shared<nn::Sequential<nn::Module>>());
    down_conv = conv(inplanes, planes * kExpansion, 1, stride, 0, 1, gen);
    down_bn = std::make_shared<nn::BatchNorm2d>(planes * kExpansion);
    seq->push_back(down_conv);
    seq->push_back(down_bn);
  }
}

Tensor Bottleneck::forward(const Tensor& x) const {
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = relu(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  Tensor identity = down_conv ? down_bn->forward(down_conv->forward(x)) : x;
  return relu(add(out, identity));
}

void Bottleneck::freeze_batch_norm() {
  for (auto* bn : {&bn1, &bn2, &bn3, &down_bn})
    if (*bn) (*bn)->freeze();
}

int resnet_depth_from_name(const std::string& arch) {
  for (int d : {18, 34, 50, 101})
    if (arch == "resnet" + std::to_string(d)) return d;
  CSG_FAIL("unknown architecture '", arch, "'; expected resnet18, resnet34, resnet50 or resnet101");
}

ResNet::ResNet(const ResNetOptions& opt) {
  std::array<int, 4> blocks;
  switch (opt.depth) {
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34: blocks = {3, 4, 6, 3}; break;
    case 50: blocks = {3, 4, 6, 3}; break;
    case 101: blocks = {3, 4, 23, 3}; break;
    default: CSG_FAIL("ResNet: depth ", opt.depth, " is not one of 18, 34, 50, 101");
  }
  const bool bottleneck = opt.depth >= 50;
  expansion_ = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
  CSG_CHECK(opt.width >= 1, "ResNet: width ", opt.width, " must be positive");
  width_ = opt.width;
  stem_ = opt.stem;
  nn::InitGuard init(opt.init_weights);
  Generator gen(opt.seed);
  if (stem_ == Stem::ImageNet)
    conv1 = register_module("conv1", conv(3, width_, 7, 2, 3, 1, gen));
  else  // small images: a 3x3 stride-1 convolution keeps the resolution
    conv1 = register_module("conv1", conv(3, width_, 3, 1, 1, 1, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(width_));
  int64_t inplanes = width_, dilation = 1;
  const std::array<bool, 4> dilate = {false, false, opt.dilate_layer3, opt.dilate_layer4};
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = width_ << s;
    int64_t stride = s == 0 ? 1 : 2;
    const int64_t previous_dilation = dilation;
    if (dilate[s]) {  // torchvision: trade the stride for dilation; the first block keeps the old dilation
      dilation *= stride;
      stride = 1;
    }
    auto layer = std::make_shared<nn::Sequential<Block>>();
    const bool down = stride != 1 || inplanes != planes * expansion_;
    for (int b = 0; b < blocks[s]; ++b) {
      const int64_t in = b == 0 ? inplanes : planes * expansion_;
      const int64_t st = b == 0 ? stride : 1;
      const int64_t dil = b == 0 ? previous_dilation : dilation;
      const bool ds = b == 0 && down;
      if (bottleneck)
        layer->push_back(std::make_shared<Bottleneck>(in, planes, st, dil, ds, gen));
      else
        layer->push_back(std::make_shared<BasicBlock>(in, planes, st, dil, ds, gen));
    }
    inplanes = planes * expansion_;
    layers[s] = register_module("layer" + std::to_string(s + 1), layer);
  }
  if (opt.num_classes > 0)
    fc = register_module("fc", std::make_shared<nn::Linear>(stage_channels(4), opt.num_classes, true, gen));
}

void ResNet::freeze_batch_norm() {
  bn1->freeze();
  for (const auto& layer : layers)
    for (const auto& block : layer->items()) block->freeze_batch_norm();
}

int64_t ResNet::stage_channels(int stage) const {
  CSG_CHECK(stage >= 1 && stage <= 4, "ResNet: stage ", stage, " is not 1..4");
  return (width_ << (stage - 1)) * expansion_;
}

ResNetFeatures ResNet::forward_features(const Tensor& x) const {
  CSG_CHECK(x.dim() == 4 && x.size(1) == 3, "ResNet: input must be [N,3,H,W], got ", x.describe());
  Pool2dOptions pool;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_h = pool.pad_w = 1;
  Tensor h = relu(bn1->forward(conv1->forward(x)));
  if (stem_has_max_pool(stem_)) h = max_pool2d(h, pool);
  ResNetFeatures f;
  for (int s = 0; s < 4; ++s) {
    for (const auto& block : layers[s]->items()) h = block->forward(h);
    f.layer[s] = h;
  }
  return f;
}

Tensor ResNet::forward(const Tensor& x) const {
  CSG_CHECK(fc, "ResNet::forward: built with num_classes = 0; use forward_features");
  return fc->forward(global_avg_pool(forward_features(x).layer[3]));
}

}  // namespace csg::models
