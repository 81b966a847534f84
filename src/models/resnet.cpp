// src/models/resnet.cpp — torchvision's ResNet, block by block, built from its description
// (architecture.h).
#include "csg/models/resnet.h"

#include "csg/nn_init.h"
#include "src/models/conv_bn.h"

namespace csg::models {

namespace {
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                                 Generator& gen) {
  auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, pad, dil, /*bias=*/false, gen);
  nn::kaiming_normal_fan_out(c->weight, gen);  // torchvision: kaiming_normal_(mode="fan_out", relu)
  return c;
}

// A block's output, relu(branch + identity): the folded BNs' shifts (the branch's last one and the
// downsample's) are added in add_relu's pass rather than by the convolutions.
Tensor residual_output(const ShiftedConv& branch, const Tensor& x, const nn::Conv2d* down_conv,
                       const nn::BatchNorm2d* down_bn) {
  if (!down_conv) return add_relu(branch.unshifted, x, branch.shift);
  const ShiftedConv identity = conv_bn_apart(*down_conv, *down_bn, x);
  Tensor shift = branch.shift;
  if (identity.shift.defined()) shift = shift.defined() ? add(shift, identity.shift) : identity.shift;
  return add_relu(branch.unshifted, identity.unshifted, shift);
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
  Tensor out = relu(conv_bn(*conv1, *bn1, x));
  return residual_output(conv_bn_apart(*conv2, *bn2, out), x, down_conv.get(), down_bn.get());
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
  Tensor out = relu(conv_bn(*conv1, *bn1, x));
  out = relu(conv_bn(*conv2, *bn2, out));
  return residual_output(conv_bn_apart(*conv3, *bn3, out), x, down_conv.get(), down_bn.get());
}

void Bottleneck::freeze_batch_norm() {
  for (auto* bn : {&bn1, &bn2, &bn3, &down_bn})
    if (*bn) (*bn)->freeze();
}

int resnet_depth_from_name(const std::string& arch) {
  for (int d : kResNetDepths)
    if (arch == "resnet" + std::to_string(d)) return d;
  CSG_FAIL("unknown architecture '", arch, "'; expected resnet18, resnet34, resnet50 or resnet101");
}

Pool2dOptions stem_max_pool(const StemArchitecture& stem) {
  Pool2dOptions pool;
  pool.kernel_h = pool.kernel_w = stem.pool_kernel;
  pool.stride_h = pool.stride_w = stem.pool_stride;
  pool.pad_h = pool.pad_w = stem.pool_padding;
  return pool;
}

ResNet::ResNet(const ResNetOptions& opt)
    : ResNet(resnet_architecture(opt.depth, opt.width, opt.stem, opt.dilate_layer3, opt.dilate_layer4),
             opt.num_classes, opt.seed, opt.init_weights) {}

// Walks the description: conv1 and bn1, then each stage's blocks, then fc.
ResNet::ResNet(const ResNetArchitecture& arch, int64_t num_classes, uint64_t seed, bool init_weights) : arch_(arch) {
  nn::InitGuard init(init_weights);
  Generator gen(seed);
  const StemArchitecture& stem = arch_.stem;
  conv1 = register_module("conv1", conv(3, arch_.width, stem.kernel, stem.stride, stem.padding, 1, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(arch_.width));
  for (int s = 0; s < 4; ++s) {
    const StageArchitecture& st = arch_.stages[s];
    auto layer = std::make_shared<nn::Sequential<Block>>();
    for (int b = 0; b < st.blocks; ++b) {
      const bool first = b == 0;
      const int64_t in = first ? st.in_channels : st.planes * arch_.expansion;
      const int64_t stride = first ? st.stride : 1;
      const int64_t dil = first ? st.first_dilation : st.dilation;
      const bool ds = first && st.downsample;
      if (arch_.block == BlockKind::Bottleneck)
        layer->push_back(std::make_shared<Bottleneck>(in, st.planes, stride, dil, ds, gen));
      else
        layer->push_back(std::make_shared<BasicBlock>(in, st.planes, stride, dil, ds, gen));
    }
    layers[s] = register_module("layer" + std::to_string(s + 1), layer);
  }
  if (num_classes > 0)
    fc = register_module("fc", std::make_shared<nn::Linear>(stage_channels(4), num_classes, true, gen));
}

void ResNet::freeze_batch_norm() {
  bn1->freeze();
  for (const auto& layer : layers)
    for (const auto& block : layer->items()) block->freeze_batch_norm();
}

ResNetFeatures ResNet::forward_features(const Tensor& x) const {
  CSG_CHECK(x.dim() == 4 && x.size(1) == 3, "ResNet: input must be [N,3,H,W], got ", x.describe());
  Tensor h = relu(conv_bn(*conv1, *bn1, x));
  if (arch_.stem.max_pool) h = max_pool2d(h, stem_max_pool(arch_.stem));
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
