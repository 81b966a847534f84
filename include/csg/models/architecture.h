// csg/models/architecture.h — ResNet and DeepLab described once, as plain data: the stem, the
// four stages (blocks, widths, strides, dilations) and DeepLab's head (ASPP rates, widths). The
// training modules (resnet.cpp, deeplab.cpp) are built by walking it; the inference compiler and
// the ONNX export (src/infer) read the same description instead of encoding the layers again.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "csg/name_table.h"

namespace csg::models {

// The layers before layer1. Every stem keeps torchvision's names (conv1, bn1); only conv1's
// kernel, its stride and the max pool differ, so a checkpoint says which stem it was trained with
// only through conv1's kernel size and its metadata.
//  * ImageNet: 7x7 stride-2 convolution, 3x3 stride-2 max pool (torchvision; input / 4 at layer1).
//    At 32 px it leaves layer3 at 2x2 and layer4 at 1x1, where A-pool is global pooling.
//  * Small: 3x3 stride-1 convolution, the same max pool (input / 2 at layer1): layer3 4x4 and
//    layer4 2x2 at 32 px, about 4x the ImageNet stem's arithmetic.
//  * Cifar: 3x3 stride-1 convolution, no max pool (input / 1 at layer1): layer3 8x8 and layer4
//    4x4 at 32 px, about 16x the arithmetic.
enum class Stem { ImageNet, Small, Cifar };
// The command-line words of the stems (csg/name_table.h): "imagenet", "small", "cifar" and back; an
// error lists them.
inline constexpr Named<Stem> kStemNames[] = {{Stem::ImageNet, "imagenet"}, {Stem::Small, "small"}, {Stem::Cifar, "cifar"}};
inline const char* stem_name(Stem stem) { return name_in(kStemNames, stem); }
inline const char* name_of(Stem stem) { return stem_name(stem); }
inline Stem parse_stem(const std::string& name) { return parse_in(kStemNames, name, "stem"); }

enum class DeepLabHead {
  AsppCsg,  // the reference's head: ASPP rates 12/24/36 + image pooling, concatenated, 1x1
            // project (BN, ReLU, dropout 0.5), 3x3 conv (BN, ReLU), 1x1 classifier (default)
  AsppV2,   // the original DeepLabv2 classifier: four 3x3 convs, dilations 6/12/18/24, summed
};
// The command-line words of the heads (--seg-head; a model file's "head").
inline constexpr Named<DeepLabHead> kDeepLabHeadNames[] = {{DeepLabHead::AsppCsg, "aspp-csg"},
                                                           {DeepLabHead::AsppV2, "aspp-v2"}};
inline const char* name_of(DeepLabHead head) { return name_in(kDeepLabHeadNames, head); }
inline DeepLabHead parse_deeplab_head(const std::string& name) {
  return parse_in(kDeepLabHeadNames, name, "segmentation head");
}

enum class BlockKind {
  Basic,       // 3x3 -> 3x3, expansion 1 (ResNet-18/34)
  Bottleneck,  // 1x1 -> 3x3 (stride, dilation) -> 1x1, expansion 4 (ResNet-50/101; the stride on the 3x3, v1.5)
};

// conv1 (3 -> width, bias-free, then BN and ReLU) and the optional max pool after it.
// (Defaults: torchvision's.)
struct StemArchitecture {
  Stem kind = Stem::ImageNet;
  int64_t kernel = 7, stride = 2, padding = 3;  // conv1
  bool max_pool = true;                         // followed by a max pool of the sizes below
  int64_t pool_kernel = 3, pool_stride = 2, pool_padding = 1;
};

// One stage ("layerN"): `blocks` residual blocks. Only the first block changes the resolution or
// the channels: it reads `in_channels`, strides by `stride` and, where they differ from its output
// or it strides, sends its identity through a 1x1 conv + BN ("downsample"). A dilated stage trades
// its stride for dilation, and its first block keeps the dilation of the stage before
// (torchvision's replace_stride_with_dilation).
struct StageArchitecture {
  int blocks = 0;
  int64_t in_channels = 0;     // of the first block
  int64_t planes = 0;          // width of the 3x3 convs; the stage outputs planes * expansion channels
  int64_t stride = 1;          // of the first block's 3x3 conv and its downsample
  int64_t first_dilation = 1;  // of the first block's 3x3 conv
  int64_t dilation = 1;        // of the other blocks' 3x3 convs
  bool downsample = false;     // the first block's identity is a 1x1 conv + BN
};

struct ResNetArchitecture {
  int depth = 0;  // 18, 34, 50 or 101
  BlockKind block = BlockKind::Basic;
  int64_t expansion = 1;  // output channels of a block per plane: 1 (basic) or 4 (bottleneck)
  int64_t width = 64;     // planes of layer1; each later stage doubles them
  StemArchitecture stem;
  std::array<StageArchitecture, 4> stages;  // layer1 .. layer4

  int64_t stage_channels(int stage) const;  // output channels of stage 1..4
  int64_t feature_channels() const { return stage_channels(4); }
};

// conv1's kernel, stride and padding and whether the max pool follows, for this stem.
StemArchitecture stem_architecture(Stem stem);

// The depths a ResNet (and DeepLab) is built at.
constexpr std::array<int, 4> kResNetDepths = {18, 34, 50, 101};

// torchvision's ResNet of this depth (an error names the accepted ones), layer1 `width` planes
// wide, with `stem`; dilate_layer3 / dilate_layer4 trade those stages' stride for dilation
// (output stride 16, and 8 with both).
ResNetArchitecture resnet_architecture(int depth, int64_t width, Stem stem, bool dilate_layer3, bool dilate_layer4);

// DeepLab's head on layer4's `in_channels` features.
//  AsppCsg: a 1x1 branch and one 3x3 branch per rate, all `width` wide (bias-free, BN, ReLU), and
//           an image-pooling branch (global average, 1x1 conv + BN + ReLU, broadcast back);
//           concatenated, projected by a 1x1 conv to `width` (BN, ReLU, then dropout), refined by a
//           3x3 conv (BN, ReLU) and classified by a 1x1 conv with bias.
//  AsppV2:  one 3x3 conv with bias per rate, from the features straight to the classes, summed.
struct DeepLabHeadArchitecture {
  DeepLabHead kind = DeepLabHead::AsppCsg;
  int64_t in_channels = 0;
  std::vector<int64_t> rates;  // dilations (and paddings) of the 3x3 branches
  int64_t width = 0;           // AsppCsg: channels of every branch, the projection and the refinement
  double dropout = 0;          // AsppCsg: after the projection, in training
  // AsppCsg: the branches concatenated: the 1x1, one per rate, the image pooling.
  int64_t concat_branches() const { return int64_t(rates.size()) + 2; }
};

struct DeepLabArchitecture {
  ResNetArchitecture backbone;  // output stride 8: layer3 dilation 2, layer4 dilation 4
  DeepLabHeadArchitecture head;
};

// DeepLab of this depth (18, 34, 50 or 101; the reference uses 50 and 101) with this head.
DeepLabArchitecture deeplab_architecture(int depth, DeepLabHead head);

}  // namespace csg::models
