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

// --device on a command that computes: `device` starts as "auto" (the default shown in --help).
CLI::Option* add_device_option(CLI::App* c, std::string& device);
// --device as the command runs it, "cpu" or "cuda": "auto" is CUDA when a GPU is usable, else
// the CPU, and one line on stderr (rank 0 under mpirun) says which and why; "cuda" without a
// usable GPU, and "auto" with a GPU the build has no code for, are errors that say why.
std::string resolve_device_flag(const std::string& device);
// Rewords CLI11's PositiveNumber / NonNegativeNumber checks of every option under `app` by the
// option's type: "must be >= 1, got 0" or "abc is not an integer" for integers, "must be > 0"
// or "is not a number" for reals (NaN and infinity refused), instead of CLI11's "Value 0 not in
// range 0.000000 to 1797693...". Run once, after every command is declared.
void reword_number_checks(CLI::App& app);

// --max-image-pixels of train, eval, hse and predict (its help text names the default, PIL's).
CLI::Option* add_max_image_pixels_flag(CLI::App* c, int64_t& value);

extern const std::vector<std::string> kClassifierArchs;    // resnet18 .. resnet101
extern const std::vector<std::string> kSegmentationArchs;  // deeplab18 .. deeplab101
extern const std::vector<std::string> kDevices;            // auto, cpu, cuda
extern const std::vector<std::string> kPools;              // apool, gap
extern const std::vector<std::string> kSegHeads;           // aspp-csg, aspp-v2
extern const std::vector<std::string> kStems;              // imagenet, small, cifar (csg/models/resnet.h)
extern const std::vector<std::string> kRandAugmentGeometries;  // absolute, relative (csg/augment.h)

}  // namespace csg::cli
