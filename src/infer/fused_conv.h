// src/infer/fused_conv.h — a convolution with its batch norm folded in, and the compiled layer
// list of a network: what Engine runs.
#pragma once
#include <vector>

#include "csg/infer.h"
#include "csg/nn.h"

namespace csg::infer {

// y = relu?(conv(x, weight) + bias): weight [O,C,KH,KW], bias [O].
struct FusedConv {
  Tensor weight, bias;
  Conv2dOptions opt;
  bool relu = false;
};

// Folds `bn` (may be null) into `conv`: weight * s, (bias - mean) * s + beta with
// s = gamma / sqrt(var + eps), computed in double and rounded once to float.
FusedConv fold(const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool relu);

// A residual block: c1 (-> c2) -> last, relu(last's output + identity), identity = down(x) or x.
struct FusedBlock {
  std::vector<FusedConv> convs;  // 2 (basic) or 3 (bottleneck); the last one's ReLU follows the add
  bool has_down = false;
  FusedConv down;
};

struct Dense {  // y = relu?(x W^T + b)
  Tensor weight, bias;
  bool relu = false;
};

struct CompiledNetwork {
  FusedConv stem;              // conv1 + bn1 + ReLU
  bool stem_max_pool = true;   // the 3x3 stride-2 max pool follows (every stem but cifar)
  std::vector<FusedBlock> blocks;
  std::vector<Dense> classifier;  // classification: after global average pooling
  // Segmentation (DeepLab), AsppCsg head: branches into one concatenation, then project, refine, classify.
  bool aspp_v2 = false;
  std::vector<FusedConv> aspp;  // 4 branches on layer4
  FusedConv aspp_pool, project, refine, seg_classifier;
  std::vector<FusedConv> v2;  // AsppV2: summed

  void to(Device dev);  // every tensor
};

// Folds a network built by build_network().
CompiledNetwork compile(const nn::Module& net);

}  // namespace csg::infer
