// csg/settings.h — the choice settings of a training run as types: each enum has one table of
// its command-line words (csg/name_table.h), and `csg train`'s flags, config.json, checkpoints,
// the resume check and the digits benchmark all read that table.
#pragma once
#include <string>
#include <vector>

#include "csg/method/regularizers.h"
#include "csg/models/deeplab.h"
#include "csg/name_table.h"
#include "csg/ops.h"

namespace csg::train {

enum class Task { Visda, Gta5 };
inline constexpr Named<Task> kTaskNames[] = {{Task::Visda, "visda"}, {Task::Gta5, "gta5"}};
// "visda" / "gta5": the command-line word, run folder prefix and checkpoint record of a task.
inline const char* task_name(Task task) { return name_in(kTaskNames, task); }
inline const char* name_of(Task task) { return task_name(task); }
inline Task parse_task(const std::string& text) { return parse_in(kTaskNames, text, "task"); }

// The backbone: a ResNet classifier (VisDA) or DeepLabv2 on a dilated ResNet (GTA5); 18 and 34
// are for small runs.
enum class Arch { ResNet18, ResNet34, ResNet50, ResNet101, DeepLab18, DeepLab34, DeepLab50, DeepLab101 };
inline constexpr Named<Arch> kArchNames[] = {
    {Arch::ResNet18, "resnet18"},   {Arch::ResNet34, "resnet34"},   {Arch::ResNet50, "resnet50"},
    {Arch::ResNet101, "resnet101"}, {Arch::DeepLab18, "deeplab18"}, {Arch::DeepLab34, "deeplab34"},
    {Arch::DeepLab50, "deeplab50"}, {Arch::DeepLab101, "deeplab101"}};
inline const char* name_of(Arch arch) { return name_in(kArchNames, arch); }
inline Arch parse_arch(const std::string& text) { return parse_in(kArchNames, text, "architecture"); }
inline bool is_deeplab(Arch arch) { return arch >= Arch::DeepLab18; }
// The task an architecture is built for: DeepLab segments (GTA5), a ResNet classifies (VisDA).
inline Task task_of(Arch arch) { return is_deeplab(arch) ? Task::Gta5 : Task::Visda; }
// The ResNet depth: 18, 34, 50 or 101.
inline int depth_of(Arch arch) {
  constexpr int kDepths[] = {18, 34, 50, 101};
  return kDepths[static_cast<int>(arch) % 4];
}
// The words of one task's architectures (--arch of `csg train visda` or `gta5`).
inline std::vector<std::string> arch_names(Task task) {
  std::vector<std::string> words;
  for (const Named<Arch>& n : kArchNames)
    if (task_of(n.value) == task) words.push_back(n.name);
  return words;
}

// --precision: the convolutions' precision a run sets on its layers (ConvNumerics, csg/ops.h).
using Precision = ConvPrecision;
inline constexpr Named<Precision> kPrecisionNames[] = {{Precision::F32, "fp32"}, {Precision::Bf16, "bf16"}};
inline const char* name_of(Precision p) { return name_in(kPrecisionNames, p); }
inline Precision parse_precision(const std::string& text) { return parse_in(kPrecisionNames, text, "precision"); }

// RandAugment's translations (Config::randaug_geometry).
enum class RandAugmentGeometry { Absolute, Relative };
inline constexpr Named<RandAugmentGeometry> kRandAugmentGeometryNames[] = {{RandAugmentGeometry::Absolute, "absolute"},
                                                                           {RandAugmentGeometry::Relative, "relative"}};
inline const char* name_of(RandAugmentGeometry g) { return name_in(kRandAugmentGeometryNames, g); }
inline RandAugmentGeometry parse_randaug_geometry(const std::string& text) {
  return parse_in(kRandAugmentGeometryNames, text, "RandAugment geometry");
}

// What problems of the pre-run data check stop a run (Config::data_check).
enum class DataCheck { Auto, Stop, Warn, Off };
inline constexpr Named<DataCheck> kDataCheckNames[] = {
    {DataCheck::Auto, "auto"}, {DataCheck::Stop, "stop"}, {DataCheck::Warn, "warn"}, {DataCheck::Off, "off"}};
inline const char* name_of(DataCheck d) { return name_in(kDataCheckNames, d); }
inline DataCheck parse_data_check(const std::string& text) { return parse_in(kDataCheckNames, text, "data check"); }

// The pooling before the projection heads, as Config::apool: A-pool (true) or global average.
inline constexpr Named<bool> kPoolNames[] = {{true, "apool"}, {false, "gap"}};
inline const char* pool_name(bool apool) { return name_in(kPoolNames, apool); }
inline bool parse_pool(const std::string& text) { return parse_in(kPoolNames, text, "pool"); }

// The choices whose table lives beside the code they choose.
using models::Stem;               // csg/models/resnet.h kStemNames
using SegHead = models::DeepLabHead;  // csg/models/deeplab.h kDeepLabHeadNames
using method::Regularizer;        // csg/method/regularizers.h kRegularizerNames
using models::name_of;
using method::name_of;

}  // namespace csg::train
