// src/train/imagenet_weights.h — the ImageNet weights a run starts from unless told otherwise:
// torchvision's file for the backbone, looked for in data/weights/, the checksum in its name checked.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/settings.h"

namespace csg::train {

// One of torchvision's published ResNet weight files.
struct TorchvisionWeights {
  std::string file;   // resnet101-63fe2227.pth: the digits after '-' begin the file's SHA-256
  std::string label;  // "IMAGENET1K_V1", the torchvision name of the weights
  bool default_choice = false;  // the paper's starting point (ImageNet-1K V1), looked for by default
};

// The torchvision ResNet a --arch builds on: resnet101 for resnet101 and for deeplab101.
std::string imagenet_backbone(Arch arch);
// torchvision's files for a backbone (resnet18 .. resnet101), the one to download first; empty
// for anything else.
std::vector<TorchvisionWeights> torchvision_weights(const std::string& backbone);
// https://download.pytorch.org/models/<file>, where torchvision downloads it from.
std::string torchvision_url(const std::string& file);

// When the file's name is one of torchvision's, checks that its SHA-256 begins with the digits
// in the name (torch.hub's check_hash); a mismatch is a csg::Error naming both and the fix.
// Returns whether the name was one of torchvision's (and so checked).
bool check_torchvision_checksum(const std::string& path);

// --weights as a run uses it: "none" -> "" (random initialisation); a path -> that path, its
// checksum checked when its name is torchvision's; "" (not given) -> torchvision's V1 file for
// `arch` in `dir`, checked, and a line on stderr naming it. None there is a csg::Error naming the
// file to download, from where, where to put it, and --weights none.
std::string resolve_weights(const std::string& flag, Arch arch, int64_t width,
                            const std::string& dir = "data/weights");

}  // namespace csg::train
