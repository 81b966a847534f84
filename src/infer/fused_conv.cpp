// src/infer/fused_conv.cpp — batch-norm folding and the compilation of a built network.
#include "src/infer/fused_conv.h"

#include <cmath>
#include <limits>
#include <vector>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/models/deeplab.h"
#include "src/infer/classifier_network.h"

namespace csg::infer {

namespace {

// A float CPU copy of `t`'s values (t itself where it already is one).
Tensor float_values(const Tensor& t) { return t.detach().to(Device::CPU).to(DType::F32).contiguous(); }

bool in_float_range(double v) { return std::fabs(v) <= std::numeric_limits<float>::max(); }  // false for NaN

// v rounded to float; beyond float's range inf of its sign (a plain conversion would be undefined).
float to_float(double v) {
  if (in_float_range(v) || std::isnan(v)) return static_cast<float>(v);
  return v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
}

}  // namespace

void refold(FusedConv& f, const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool check_range) {
  NoGradGuard ng;
  const int64_t O = conv.weight.size(0);
  const Tensor w = float_values(conv.weight);
  CSG_CHECK(f.weight.defined() && f.weight.shape() == w.shape() && f.weight.is_contiguous() &&
                f.weight.dtype() == DType::F32 && f.weight.device() == Device::CPU,
            "batch-norm folding of ", conv.weight.name(), ": the compiled layer's buffers do not match the layer");
  // Per output channel: the scale s and shift of the batch norm, in double.
  std::vector<double> scale(O, 1.0), shift(O, 0.0);
  if (conv.bias.defined()) {
    const Tensor b = float_values(conv.bias);
    for (int64_t o = 0; o < O; ++o) shift[o] = b.data<float>()[o];
  }
  if (bn) {
    const Tensor gamma = float_values(bn->weight), beta = float_values(bn->bias);
    const Tensor mean = float_values(bn->running_mean), var = float_values(bn->running_var);
    for (int64_t o = 0; o < O; ++o) {
      scale[o] = double(gamma.data<float>()[o]) / std::sqrt(double(var.data<float>()[o]) + bn->eps);
      shift[o] = (shift[o] - mean.data<float>()[o]) * scale[o] + beta.data<float>()[o];
    }
  }
  // Folding a tiny running_var can leave float's range: an error for a model file, inf for training.
  const int64_t per_out = w.numel() / O;
  const float* wp = w.data<float>();
  float* out = f.weight.data<float>();
  std::vector<double> first_bad(O, 0.0);  // channel o's first value beyond float's range (or NaN), else 0
#pragma omp parallel for schedule(static) if (w.numel() > 65536)
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < per_out; ++i) {
      const double v = double(wp[o * per_out + i]) * scale[o];
      out[o * per_out + i] = to_float(v);
      if (!in_float_range(v) && first_bad[o] == 0.0) first_bad[o] = v;
    }
  for (int64_t o = 0; o < O; ++o) {
    const double v = first_bad[o] != 0.0 ? first_bad[o] : shift[o];
    CSG_CHECK(!check_range || in_float_range(v), "batch-norm folding of ", conv.weight.name(), ": a folded value is ",
              v, " (running_var + eps <= 0, or weights beyond float32); the model file is damaged");
    f.bias.data<float>()[o] = to_float(shift[o]);
  }
  f.weight.storage().bump_version();
  f.bias.storage().bump_version();
}

namespace {

// The layer folded into buffers of its own.
FusedConv fold_into_new(const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool relu, bool check_range) {
  FusedConv f;
  f.opt = conv.opt;
  f.relu = relu;
  f.weight = empty(conv.weight.shape());
  f.bias = empty({conv.weight.size(0)});
  refold(f, conv, bn, check_range);
  return f;
}

}  // namespace

FusedConv fold(const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool relu) {
  return fold_into_new(conv, bn, relu, /*check_range=*/true);
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

// Calls fold_layer(conv, bn, relu, slot) for the stem and every residual block's convolution, in
// the compiled network's order; slot is where that layer's FusedConv lives in c.
template <class F>
void for_each_backbone_layer(const models::ResNet& resnet, CompiledNetwork& c, F&& fold_layer) {
  fold_layer(*resnet.conv1, resnet.bn1.get(), true, c.stem);
  size_t i = 0;
  for (const auto& layer : resnet.layers)
    for (const auto& block : layer->items()) {
      if (i == c.blocks.size()) c.blocks.emplace_back();
      FusedBlock& fb = c.blocks[i++];
      // The last conv's ReLU is the one after the residual add (the epilogue adds, then clamps).
      if (auto* b = dynamic_cast<const models::Bottleneck*>(block.get())) {
        fb.convs.resize(3);
        fold_layer(*b->conv1, b->bn1.get(), true, fb.convs[0]);
        fold_layer(*b->conv2, b->bn2.get(), true, fb.convs[1]);
        fold_layer(*b->conv3, b->bn3.get(), true, fb.convs[2]);
        if (b->down_conv) fb.has_down = true, fold_layer(*b->down_conv, b->down_bn.get(), false, fb.down);
      } else {
        auto* bb = dynamic_cast<const models::BasicBlock*>(block.get());
        CSG_CHECK(bb, "compile: unknown residual block type");
        fb.convs.resize(2);
        fold_layer(*bb->conv1, bb->bn1.get(), true, fb.convs[0]);
        fold_layer(*bb->conv2, bb->bn2.get(), true, fb.convs[1]);
        if (bb->down_conv) fb.has_down = true, fold_layer(*bb->down_conv, bb->down_bn.get(), false, fb.down);
      }
    }
  CSG_CHECK(i == c.blocks.size(), "compile: the network has ", i, " residual blocks, its compiled form ",
            c.blocks.size());
}

}  // namespace

CompiledNetwork compile_backbone(const models::ResNet& resnet, bool check_range) {
  CompiledNetwork c;
  c.backbone = resnet.architecture();
  for_each_backbone_layer(resnet, c, [&](const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool relu, FusedConv& slot) {
    slot = fold_into_new(conv, bn, relu, check_range);
  });
  return c;
}

void refold_backbone(const models::ResNet& resnet, CompiledNetwork& c, bool check_range) {
  for_each_backbone_layer(resnet, c, [&](const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool, FusedConv& slot) {
    refold(slot, conv, bn, check_range);
  });
}

CompiledNetwork compile(const nn::Module& net) {
  auto* resnet = dynamic_cast<const models::ResNet*>(&net);
  CSG_CHECK(resnet, "compile: not a network built by build_network");
  CompiledNetwork c = compile_backbone(*resnet, /*check_range=*/true);
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
