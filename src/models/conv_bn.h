// src/models/conv_bn.h — a convolution followed by its batch norm, as the models' blocks run them.
#pragma once
#include "csg/nn.h"

namespace csg::models {

// bn(conv(x)). While BN runs on running statistics and gradients are recorded for the conv's or the
// BN's parameters (CSG's training step), the BN is folded into an f32 convolution (conv2d_bn_eval),
// which saves BN's passes over the activation forward and backward, where the output holds at least
// as many values as the weights (elsewhere folding costs more than it saves). Otherwise the two run apart:
// BN in train mode needs the batch statistics, and a pass without gradients keeps the conv's own
// weight tensor, whose converted copy a frozen encoder reuses from step to step (ConvWeightsReuseScope).
Tensor conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x);
// The same, with the folded BN's per-channel shift returned apart for the op that adds it (a block's
// add_relu); unfolded, the output is bn(conv(x)) and the shift undefined.
ShiftedConv conv_bn_apart(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x);

}  // namespace csg::models
