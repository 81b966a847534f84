// src/models/conv_bn.cpp — when a block's batch norm is folded into its convolution (see conv_bn.h).
#include "src/models/conv_bn.h"

#include "csg/autograd.h"
#include "src/ops/conv_shape.h"

namespace csg::models {

namespace {

bool requires_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

bool fold_batch_norm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x) {
  if (bn.is_training() || !grad_mode_enabled()) return false;
  // Folding costs a few passes over the weights (scaling them, and the gradient's way back); it
  // saves batch norm's passes over the output. Where the output holds fewer values than the weights
  // (deep layers on small images: ResNet-18 at 64 px took 158 instead of 124 ms a step folded
  // everywhere), the two run apart.
  if (x.dim() == 4 && conv.weight.dim() == 4) {
    const kernels::Conv2dShape s = conv2d_geometry(x.shape(), conv.weight.shape(), conv.opt);
    if (s.N * s.OH * s.OW < s.C * s.KH * s.KW) return false;
  }
  // f32 convolutions only: a BF16 convolution reads its weights rounded to BF16, and w * s rounds
  // otherwise than w, which autocast rounds (folded, the BF16 step parity with autocast went from 0.43 to
  // 0.95 of its tolerance); each fresh folded weight also costs one more BF16 copy a pass.
  if (conv.opt.numerics.bf16()) return false;
  return requires_grad(conv.weight) || requires_grad(conv.bias) || requires_grad(bn.weight);
}

// As BatchNorm2d::forward: a BN whose weight takes no gradient is Frozen, its weight and bias constants.
Tensor bn_parameter(const nn::BatchNorm2d& bn, const Tensor& p) {
  return !requires_grad(bn.weight) && p.defined() ? p.detach() : p;
}

}  // namespace

Tensor conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x) {
  if (!fold_batch_norm(conv, bn, x)) return bn.forward(conv.forward(x));
  return conv2d_bn_eval(x, conv.weight, conv.bias, bn_parameter(bn, bn.weight), bn_parameter(bn, bn.bias),
                        bn.running_mean, bn.running_var, bn.eps, conv.opt);
}

ShiftedConv conv_bn_apart(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x) {
  if (!fold_batch_norm(conv, bn, x)) return {bn.forward(conv.forward(x)), Tensor()};
  return conv2d_bn_eval_apart(x, conv.weight, conv.bias, bn_parameter(bn, bn.weight), bn_parameter(bn, bn.bias),
                              bn.running_mean, bn.running_var, bn.eps, conv.opt);
}

}  // namespace csg::models
