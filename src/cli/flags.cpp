// src/cli/flags.cpp — see flags.h.
#include "src/cli/flags.h"

#include <cstdlib>
#include <sstream>

#include "csg/error.h"

namespace csg::cli {

const std::vector<std::string> kClassifierArchs = {"resnet18", "resnet34", "resnet50", "resnet101"};
const std::vector<std::string> kSegmentationArchs = {"deeplab18", "deeplab34", "deeplab50", "deeplab101"};
const std::vector<std::string> kDevices = {"cpu", "cuda"};
const std::vector<std::string> kPools = {"apool", "gap"};
const std::vector<std::string> kSegHeads = {"aspp-csg", "aspp-v2"};
const std::vector<std::string> kStems = {"imagenet", "small", "cifar"};
const std::vector<std::string> kRandAugmentGeometries = {"absolute", "relative"};

std::vector<int> parse_layers(const std::string& s) {
  std::vector<int> layers;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    CSG_CHECK(item.size() == 1 && item[0] >= '1' && item[0] <= '4', "--layers ", s,
              ": expected stages 1..4 separated by commas, e.g. 3,4");
    for (int l : layers) CSG_CHECK(l != item[0] - '0', "--layers ", s, ": stage ", item, " is listed twice");
    layers.push_back(item[0] - '0');
  }
  CSG_CHECK(!layers.empty(), "--layers: empty; expected stages 1..4 separated by commas, e.g. 3,4");
  return layers;
}

CLI::Validator layers_validator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          parse_layers(s);
        } catch (const Error& e) {
          const std::string what = e.what();
          return what.substr(0, what.rfind(" ("));  // without the source location
        }
        return "";
      },
      "LAYERS");
}

std::array<float, 3> parse_triple(const std::string& flag, const std::string& s) {
  std::array<float, 3> v{};
  std::stringstream ss(s);
  std::string item;
  int i = 0;
  while (std::getline(ss, item, ',')) {
    CSG_CHECK(i < 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
    char* end = nullptr;
    v[i++] = std::strtof(item.c_str(), &end);
    CSG_CHECK(!item.empty() && end == item.c_str() + item.size(), "option ", flag,
              " takes three comma-separated numbers, got '", s, "'");
  }
  CSG_CHECK(i == 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
  return v;
}

}  // namespace csg::cli
