// src/infer/fused_conv.h — a convolution with its batch norm folded in, and the compiled layer
// list of a network: what Engine runs.
#pragma once
#include <vector>

#include "csg/infer.h"
#include "csg/models/architecture.h"
#include "csg/models/resnet.h"
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
// The same values written into f's own weight and bias (CPU, float), whose addresses stay: a
// runner keyed by them keeps its primitives and only reorders the weights again. check_range:
// a value beyond float's range (or NaN) is an error naming the layer, as for a model file (fold
// checks); without it such a value is written as inf or NaN, as the unfolded layers would compute
// with it (a diverged training run, which the trainer reports by its loss).
void refold(FusedConv& f, const nn::Conv2d& conv, const nn::BatchNorm2d* bn, bool check_range);

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
  // The description the network was built from: the stem's max pool, the blocks of each stage.
  models::ResNetArchitecture backbone;
  FusedConv stem;  // conv1 + bn1 + ReLU
  std::vector<FusedBlock> blocks;  // layer1's, then layer2's, ...
  std::vector<Dense> classifier;  // classification: after global average pooling
  // Segmentation (DeepLab): `head` says which head; AsppCsg: branches into one concatenation, then
  // project, refine, classify.
  models::DeepLabHeadArchitecture head;
  std::vector<FusedConv> aspp;  // the 1x1 and the dilated branches on layer4
  FusedConv aspp_pool, project, refine, seg_classifier;
  std::vector<FusedConv> v2;  // AsppV2: summed

  void to(Device dev);  // every tensor
};

// Folds a network built by build_network().
CompiledNetwork compile(const nn::Module& net);
// Folds only the stem and the residual blocks of `resnet` (a DeepLab's too): what forward_stages
// runs. refold_backbone writes the current weights into such a network's buffers again.
// check_range as refold's.
CompiledNetwork compile_backbone(const models::ResNet& resnet, bool check_range);
void refold_backbone(const models::ResNet& resnet, CompiledNetwork& c, bool check_range);

}  // namespace csg::infer
