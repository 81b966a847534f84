// src/models/architecture.cpp — the one description of ResNet and DeepLab (architecture.h).
#include "csg/models/architecture.h"

#include <algorithm>

#include "csg/error.h"

namespace csg::models {

namespace {

std::array<int, 4> blocks_per_stage(int depth) {
  switch (depth) {
    case 18: return {2, 2, 2, 2};
    case 34: return {3, 4, 6, 3};
    case 50: return {3, 4, 6, 3};
    case 101: return {3, 4, 23, 3};
    default: CSG_FAIL("ResNet: depth ", depth, " is not one of 18, 34, 50, 101");
  }
}

}  // namespace

StemArchitecture stem_architecture(Stem stem) {
  StemArchitecture a;  // torchvision's: 7x7 stride 2, then the max pool
  a.kind = stem;
  if (stem != Stem::ImageNet) {  // small images: a 3x3 stride-1 convolution keeps the resolution
    a.kernel = 3, a.stride = 1, a.padding = 1;
    a.max_pool = stem != Stem::Cifar;
  }
  return a;
}

int64_t ResNetArchitecture::stage_channels(int stage) const {
  CSG_CHECK(stage >= 1 && stage <= 4, "ResNet: stage ", stage, " is not 1..4");
  return stages[stage - 1].planes * expansion;
}

ResNetArchitecture resnet_architecture(int depth, int64_t width, Stem stem, bool dilate_layer3, bool dilate_layer4) {
  const std::array<int, 4> blocks = blocks_per_stage(depth);
  CSG_CHECK(width >= 1, "ResNet: width ", width, " must be positive");
  ResNetArchitecture a;
  a.depth = depth;
  a.block = depth >= 50 ? BlockKind::Bottleneck : BlockKind::Basic;
  a.expansion = a.block == BlockKind::Bottleneck ? 4 : 1;
  a.width = width;
  a.stem = stem_architecture(stem);
  int64_t in = width, dilation = 1;
  const std::array<bool, 4> dilate = {false, false, dilate_layer3, dilate_layer4};
  for (int s = 0; s < 4; ++s) {
    StageArchitecture& st = a.stages[s];
    st.blocks = blocks[s];
    st.in_channels = in;
    st.planes = width << s;
    st.stride = s == 0 ? 1 : 2;
    st.first_dilation = dilation;
    if (dilate[s]) {  // torchvision: trade the stride for dilation; the first block keeps the old dilation
      dilation *= st.stride;
      st.stride = 1;
    }
    st.dilation = dilation;
    st.downsample = st.stride != 1 || in != st.planes * a.expansion;
    in = st.planes * a.expansion;
  }
  return a;
}

DeepLabArchitecture deeplab_architecture(int depth, DeepLabHead head) {
  // The paper uses 50 and 101; 18 and 34 build too (small models for tests and CPU runs).
  CSG_CHECK(std::find(kResNetDepths.begin(), kResNetDepths.end(), depth) != kResNetDepths.end(), "DeepLab: depth ",
            depth, " is not 18, 34, 50 or 101");
  DeepLabArchitecture a;
  // Output stride 8, as the reference's layer3/layer4.
  a.backbone = resnet_architecture(depth, 64, Stem::ImageNet, /*dilate_layer3=*/true, /*dilate_layer4=*/true);
  a.head.kind = head;
  a.head.in_channels = a.backbone.feature_channels();
  if (head == DeepLabHead::AsppV2) {
    a.head.rates = {6, 12, 18, 24};
  } else {
    a.head.rates = {12, 24, 36};
    a.head.width = 256;
    a.head.dropout = 0.5;
  }
  return a;
}

}  // namespace csg::models
