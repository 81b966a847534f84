// src/models/conv_bn.cpp — when a block's batch norm is folded into its convolution (see conv_bn.h).
#include "src/models/conv_bn.h"

#include "csg/autograd.h"

namespace csg::models {

namespace {

bool requires_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

bool fold_batch_norm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  if (bn.is_training() || !grad_mode_enabled()) return false;
  // f32 convolutions only: a BF16 convolution reads its weights rounded to BF16, and w * s rounds
  // otherwise than w, which autocast rounds (folded, the BF16 step parity with autocast went from 0.43 to
  // 0.95 of its tolerance); each fresh folded weight also costs one more BF16 copy a pass.
  if (conv.opt.numerics.bf16()) return false;
  return requires_grad(conv.weight) || requires_grad(conv.bias) || requires_grad(bn.weight);
}

}  // namespace

Tensor conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x) {
  if (!fold_batch_norm(conv, bn)) return bn.forward(conv.forward(x));
  // As BatchNorm2d::forward: a BN whose weight takes no gradient is Frozen, its weight and bias constants.
  const bool frozen = !requires_grad(bn.weight);
  const Tensor gamma = frozen && bn.weight.defined() ? bn.weight.detach() : bn.weight;
  const Tensor beta = frozen && bn.bias.defined() ? bn.bias.detach() : bn.bias;
  return conv2d_bn_eval(x, conv.weight, conv.bias, gamma, beta, bn.running_mean, bn.running_var, bn.eps, conv.opt);
}

}  // namespace csg::models
