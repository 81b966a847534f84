// src/cli/flags.h — value parsers and choice lists shared by the commands' declarations.
#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <vector>

namespace csg::cli {

// "3,4" -> {3, 4}: stages 1..4, each at most once.
std::vector<int> parse_layers(const std::string& s);
// "0.485,0.456,0.406" -> three numbers; errors name the flag.
std::array<float, 3> parse_triple(const std::string& flag, const std::string& s);

// A CLI11 check that runs parse_layers, so a bad --layers is a command-line error (exit 2).
CLI::Validator layers_validator();

extern const std::vector<std::string> kClassifierArchs;    // resnet18 .. resnet101
extern const std::vector<std::string> kSegmentationArchs;  // deeplab18 .. deeplab101
extern const std::vector<std::string> kDevices;            // cpu, cuda
extern const std::vector<std::string> kPools;              // apool, gap
extern const std::vector<std::string> kSegHeads;           // aspp-csg, aspp-v2
extern const std::vector<std::string> kStems;              // imagenet, small, cifar (csg/models/resnet.h)
extern const std::vector<std::string> kRandAugmentGeometries;  // absolute, relative (csg/augment.h)

}  // namespace csg::cli
