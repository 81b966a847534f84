// src/infer/fused_conv.cpp — batch-norm folding and the compilation of a built network.
#include "src/infer/fused_conv.h"

#include <cmath>
#include <limits>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/models/deeplab.h"
#include "src/infer/classifier_network.h"

namespace csg::infer {

FusedConv fold(const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool relu) {
  NoGradGuard ng;
  FusedConv f;
  f.opt = conv.opt;
  f.relu = relu;
  const int64_t O = conv.weight.size(0);
  Tensor w = conv.weight.detach().to(Device::CPU).to(DType::F64).contiguous();
  Tensor b = conv.bias.defined() ? conv.bias.detach().to(Device::CPU).to(DType::F64).contiguous() : zeros({O}, {DType::F64});
  if (bn) {
    Tensor gamma = bn->weight.detach().to(Device::CPU).to(DType::F64).contiguous();
    Tensor beta = bn->bias.detach().to(Device::CPU).to(DType::F64).contiguous();
    Tensor mean = bn->running_mean.detach().to(Device::CPU).to(DType::F64).contiguous();
    Tensor var = bn->running_var.detach().to(Device::CPU).to(DType::F64).contiguous();
    double* wp = w.data<double>();
    double* bp = b.data<double>();
    const int64_t per_out = w.numel() / O;
    for (int64_t o = 0; o < O; ++o) {
      const double s = gamma.data<double>()[o] / std::sqrt(var.data<double>()[o] + bn->eps);
      for (int64_t i = 0; i < per_out; ++i) wp[o * per_out + i] *= s;
      bp[o] = (bp[o] - mean.data<double>()[o]) * s + beta.data<double>()[o];
    }
  }
  // Folding a tiny running_var can leave float's range; converting such a value is undefined.
  for (const Tensor* t : {&w, &b}) {
    const double* p = t->data<double>();
    for (int64_t i = 0; i < t->numel(); ++i)
      CSG_CHECK(std::isfinite(p[i]) && std::fabs(p[i]) <= std::numeric_limits<float>::max(), "batch-norm folding of ",
                conv.weight.name(), ": a folded value is ", p[i],
                " (running_var + eps <= 0, or weights beyond float32); the model file is damaged");
  }
  f.weight = w.to(DType::F32);
  f.bias = b.to(DType::F32);
  return f;
}

void CompiledNetwork::to(Device dev) {
  auto move = [dev](FusedConv& f) {
    if (f.weight.defined()) f.weight = f.weight.to(dev), f.bias = f.bias.to(dev);
  };
  move(stem);
  for (FusedBlock& b : blocks) {
    for (FusedConv& c : b.convs) move(c);
    move(b.down);
  }
  for (Dense& d : classifier) d.weight = d.weight.to(dev), d.bias = d.bias.to(dev);
  for (FusedConv& c : aspp) move(c);
  move(aspp_pool), move(project), move(refine), move(seg_classifier);
  for (FusedConv& c : v2) move(c);
}

namespace {

Dense dense(const nn::Linear& l, bool relu) {
  NoGradGuard ng;
  Dense d;
  d.weight = l.weight.detach().to(Device::CPU).contiguous();
  d.bias = l.bias.defined() ? l.bias.detach().to(Device::CPU).contiguous() : zeros({l.weight.size(0)});
  d.relu = relu;
  return d;
}

FusedConv fold_relu(const models::DeepLab::ConvBn& cb) { return fold(*cb.conv, cb.bn.get(), /*relu=*/true); }

}  // namespace

CompiledNetwork compile(const nn::Module& net) {
  auto* resnet = dynamic_cast<const models::ResNet*>(&net);
  CSG_CHECK(resnet, "compile: not a network built by build_network");
  CompiledNetwork c;
  c.backbone = resnet->architecture();
  c.stem = fold(*resnet->conv1, resnet->bn1.get(), true);
  for (const auto& layer : resnet->layers)
    for (const auto& block : layer->items()) {
      FusedBlock fb;
      if (auto* b = dynamic_cast<const models::Bottleneck*>(block.get())) {
        // The last conv's ReLU is the one after the residual add (the epilogue adds, then clamps).
        fb.convs = {fold(*b->conv1, b->bn1.get(), true), fold(*b->conv2, b->bn2.get(), true),
                    fold(*b->conv3, b->bn3.get(), true)};
        if (b->down_conv) fb.has_down = true, fb.down = fold(*b->down_conv, b->down_bn.get(), false);
      } else {
        auto* bb = dynamic_cast<const models::BasicBlock*>(block.get());
        CSG_CHECK(bb, "compile: unknown residual block type");
        fb.convs = {fold(*bb->conv1, bb->bn1.get(), true), fold(*bb->conv2, bb->bn2.get(), true)};
        if (bb->down_conv) fb.has_down = true, fb.down = fold(*bb->down_conv, bb->down_bn.get(), false);
      }
      c.blocks.push_back(std::move(fb));
    }
  if (auto* deeplab = dynamic_cast<const models::DeepLab*>(&net)) {
    models::DeepLab::HeadLayers h = deeplab->head_layers();
    c.head = deeplab->head_architecture();
    if (c.head.kind == models::DeepLabHead::AsppV2) {
      for (const auto& conv : h.v2) c.v2.push_back(fold(*conv, nullptr, false));
    } else {
      for (const auto& b : h.aspp) c.aspp.push_back(fold_relu(b));
      c.aspp_pool = fold_relu(h.aspp_pool);
      c.project = fold_relu(h.project);  // dropout after it is the identity at inference
      c.refine = fold_relu(h.refine);
      c.seg_classifier = fold(*h.classifier, nullptr, false);
    }
  } else if (auto* mlp = dynamic_cast<const MlpHeadResNet*>(&net)) {
    c.classifier = {dense(*mlp->fc1, true), dense(*mlp->fc2, false)};
  } else {
    CSG_CHECK(resnet->fc, "compile: a classification ResNet without fc");
    c.classifier = {dense(*resnet->fc, false)};
  }
  return c;
}

}  // namespace csg::infer
