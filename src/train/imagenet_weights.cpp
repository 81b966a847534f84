// src/train/imagenet_weights.cpp — see imagenet_weights.h. The file names are torchvision's
// (torchvision/models/resnet.py, and the earlier model_urls of the V1 weights, which the
// reference downloads). V2 (a newer training recipe) is checked when given, never looked for:
// the paper starts from V1.
#include "src/train/imagenet_weights.h"

#include <cstdio>
#include <filesystem>

#include "csg/error.h"
#include "src/io/sha256.h"

namespace csg::train {

namespace fs = std::filesystem;

std::string imagenet_backbone(Arch arch) {
  return "resnet" + std::to_string(depth_of(arch));  // DeepLabv2 is built on a dilated ResNet
}

std::vector<TorchvisionWeights> torchvision_weights(const std::string& backbone) {
  const std::string earlier = "IMAGENET1K_V1, torchvision's earlier file of them";
  if (backbone == "resnet18")
    return {{"resnet18-f37072fd.pth", "IMAGENET1K_V1", true}, {"resnet18-5c106cde.pth", earlier, true}};
  if (backbone == "resnet34")
    return {{"resnet34-b627a593.pth", "IMAGENET1K_V1", true}, {"resnet34-333f7ec4.pth", earlier, true}};
  if (backbone == "resnet50")
    return {{"resnet50-0676ba61.pth", "IMAGENET1K_V1", true},
            {"resnet50-19c8e357.pth", earlier, true},
            {"resnet50-11ad3fa6.pth", "IMAGENET1K_V2", false}};
  if (backbone == "resnet101")
    return {{"resnet101-63fe2227.pth", "IMAGENET1K_V1", true},
            {"resnet101-5d3b4d8f.pth", earlier, true},
            {"resnet101-cd907fc2.pth", "IMAGENET1K_V2", false}};
  return {};
}

std::string torchvision_url(const std::string& file) { return "https://download.pytorch.org/models/" + file; }

bool check_torchvision_checksum(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const size_t dash = name.rfind('-'), dot = name.rfind('.');
  if (dash == std::string::npos || dot == std::string::npos || dot < dash) return false;
  bool known = false;
  for (const TorchvisionWeights& w : torchvision_weights(name.substr(0, dash))) known = known || w.file == name;
  if (!known) return false;
  const std::string want = name.substr(dash + 1, dot - dash - 1);
  const std::string got = io::sha256_file_hex(path);
  CSG_CHECK(got.compare(0, want.size(), want) == 0, path, ": its SHA-256 begins ", got.substr(0, want.size()),
            ", not ", want, " as torchvision's name says: the file is damaged or incomplete; download it again from ",
            torchvision_url(name));
  return true;
}

std::string resolve_weights(const std::string& flag, Arch arch, int64_t width, const std::string& dir) {
  if (flag == "none") return "";
  if (!flag.empty()) {
    check_torchvision_checksum(flag);
    return flag;
  }
  const std::string backbone = imagenet_backbone(arch);
  const std::vector<TorchvisionWeights> files = torchvision_weights(backbone);
  CSG_CHECK(!files.empty(), "--arch ", name_of(arch), ": torchvision publishes no ImageNet weights for it; give --weights FILE, "
            "or --weights none to train from random initialisation");
  CSG_CHECK(width == 64, "--width ", width, ": torchvision's ImageNet weights are width 64, so a run at width ", width,
            " starts from random initialisation: say so with --weights none");
  std::error_code ec;
  for (const TorchvisionWeights& w : files) {
    const fs::path p = fs::path(dir) / w.file;
    if (!w.default_choice || !fs::is_regular_file(p, ec)) continue;
    check_torchvision_checksum(p.string());
    std::fprintf(stderr, "ImageNet weights: %s (torchvision %s %s, SHA-256 checked)\n", p.string().c_str(),
                 backbone.c_str(), w.label.c_str());
    return p.string();
  }
  const std::string file = files.front().file;
  CSG_FAIL("no ImageNet weights for --arch ", name_of(arch), " in ", dir, "/: the paper and every table start from torchvision's ",
           backbone, " ", files.front().label, " weights. Download them and put them there:\n  mkdir -p ", dir,
           " && wget -P ", dir, " ", torchvision_url(file), "\n(or curl -L -o ", dir, "/", file, " ",
           torchvision_url(file), "); or give a file with --weights FILE, or train from random initialisation with "
           "--weights none");
}

}  // namespace csg::train
