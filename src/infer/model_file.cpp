// src/infer/model_file.cpp — reading every model file csg deploys (exported, training
// checkpoint, torchvision or DeepLab state dict) into ModelWeights, and writing the export.
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "csg/data/datasets.h"
#include "csg/data/labels.h"
#include "csg/error.h"
#include "csg/infer.h"
#include "csg/io/checkpoint.h"
#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "csg/models/architecture.h"
#include "src/infer/training_info.h"
#include "src/io/file_checks.h"

namespace csg::infer {

namespace {

constexpr const char* kFormat = "csg-model";
constexpr const char* kFormatVersion = "1";

class Names {
 public:
  explicit Names(const std::vector<NamedTensor>& t) {
    for (const NamedTensor& n : t) by_name_[n.name] = &n.tensor;
  }
  const Tensor* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  bool has_prefix(const std::string& prefix) const {
    auto it = by_name_.lower_bound(prefix);
    return it != by_name_.end() && it->first.rfind(prefix, 0) == 0;
  }
  // Blocks of "layer<s>": the largest i with "layer<s>.<i>." present, plus one.
  int64_t blocks(int stage) const {
    int64_t n = 0;
    while (has_prefix("layer" + std::to_string(stage) + "." + std::to_string(n) + ".")) ++n;
    return n;
  }

 private:
  std::map<std::string, const Tensor*> by_name_;
};

int64_t rows_of(const Tensor* t, const std::string& name, const std::string& where) {
  CSG_CHECK(t && t->dim() >= 1, where, ": ", name, " is missing or has no rows");
  return t->size(0);
}

// Depth from the block kind and layer3's block count of a torchvision-style backbone: the depth
// whose description (architecture.h) has both.
int depth_of(const Names& names, const std::string& where) {
  const bool bottleneck = names.find("layer1.0.conv3.weight") != nullptr;
  const int64_t b3 = names.blocks(3);
  for (int depth : models::kResNetDepths) {
    const models::ResNetArchitecture a = models::resnet_architecture(depth, 64, models::Stem::ImageNet, false, false);
    if ((a.block == models::BlockKind::Bottleneck) == bottleneck && a.stages[2].blocks == b3) return depth;
  }
  CSG_FAIL(where, ": not a ResNet-18/34/50/101 backbone (", b3, " blocks in layer3, ",
           bottleneck ? "bottleneck" : "basic", " blocks); expected torchvision names such as layer1.0.conv1.weight");
}

// The stem a state dict's conv1 implies: 7x7 is torchvision's (imagenet); 3x3 is one of the
// small-image stems, which differ in the max pool only, so the weights cannot tell which:
// "" here, and read_model refuses such a plain state dict (a csg file's metadata names it).
std::string stem_of(const Tensor& conv1, const std::string& where) {
  CSG_CHECK(conv1.dim() == 4 && conv1.size(2) == conv1.size(3) && (conv1.size(2) == 7 || conv1.size(2) == 3), where,
            ": conv1.weight has shape ", shape_str(conv1.shape()), ": neither a 7x7 (imagenet) nor a 3x3 (small, cifar) stem");
  return conv1.size(2) == 7 ? "imagenet" : "";
}

// `said` (a file's metadata), checked against what conv1's kernel implies (stem_of's result).
const std::string& stem_agreeing(const std::string& from_weights, const std::string& said, const std::string& where) {
  CSG_CHECK(from_weights.empty() ? said != "imagenet" : said == from_weights, where, ": metadata says stem ", said,
            ", conv1.weight's kernel says ", from_weights.empty() ? "small or cifar (3x3)" : from_weights + " (7x7)");
  return said;
}

// F64 tensors become F32; a value beyond float's range is an error (converting it is undefined).
std::vector<NamedTensor> as_float32(std::vector<NamedTensor> tensors, const std::string& where) {
  for (NamedTensor& t : tensors) {
    if (t.tensor.dtype() != DType::F64) continue;
    const Tensor c = t.tensor.contiguous();
    const double* p = c.data<double>();
    for (int64_t i = 0; i < c.numel(); ++i)
      CSG_CHECK(!(std::fabs(p[i]) > std::numeric_limits<float>::max()) || std::isinf(p[i]), where, ": ", t.name,
                " holds ", p[i], ", beyond float32's range");
    t.tensor = c.to(DType::F32);
  }
  return tensors;
}

void check_arch(const ModelInfo& info, const std::string& arch, const std::string& where) {
  CSG_CHECK(arch.empty() || arch == info.arch, where, " holds a ", info.arch, " but ", arch,
            " was asked for; drop the arch or give ", info.arch);
}

// The ModelInfo a state dict implies: backbone depth and width, task head, classes.
ModelInfo infer_info(const std::vector<NamedTensor>& tensors, const std::string& where) {
  Names names(tensors);
  CSG_CHECK(names.find("conv1.weight"), where,
            ": no conv1.weight; not a ResNet/DeepLab state dict (torchvision names expected)");
  ModelInfo m;
  m.width = rows_of(names.find("conv1.weight"), "conv1.weight", where);
  m.stem = stem_of(*names.find("conv1.weight"), where);
  const int depth = depth_of(names, where);
  if (names.has_prefix("fc_new.conv2d_list.")) {
    m.arch = "deeplab" + std::to_string(depth);
    const Tensor* v2 = names.find("fc_new.conv2d_list.0.weight");
    m.head = v2 ? "aspp-v2" : "aspp-csg";
    m.num_classes = v2 ? rows_of(v2, "fc_new.conv2d_list.0.weight", where)
                       : rows_of(names.find("fc_new.conv2d_list.0.4.weight"), "fc_new.conv2d_list.0.4.weight", where);
    m.resize = m.crop = 1;  // unused for segmentation
  } else {
    m.arch = "resnet" + std::to_string(depth);
    if (names.find("head.2.weight")) {
      m.head = "mlp";
      m.num_classes = rows_of(names.find("head.2.weight"), "head.2.weight", where);
    } else {
      CSG_CHECK(names.find("fc.weight"), where, ": no classifier (fc.weight or head.2.weight) in the state dict");
      m.head = "fc";
      m.num_classes = rows_of(names.find("fc.weight"), "fc.weight", where);
    }
  }
  m.class_names = default_class_names(m.task(), m.num_classes);
  return m;
}

// `stem`: what the file's metadata says (csg's digits priors write "stem"), or empty.
ModelWeights from_state_dict(std::vector<NamedTensor> tensors, const std::string& arch, const std::string& where,
                             const std::string& stem = "") {
  ModelWeights m;
  m.info = infer_info(tensors, where);
  if (!stem.empty()) m.info.stem = stem_agreeing(m.info.stem, stem, where);
  CSG_CHECK(!m.info.stem.empty(), where, ": conv1 is 3x3, a small-image stem (small or cifar: with or without the max "
            "pool), which a plain state dict does not record; use the csg checkpoint it came from or `csg export` it");
  if (m.info.task() == Task::Segmentation)  // the reference's unused backbone fc is not part of DeepLab
    for (auto it = tensors.begin(); it != tensors.end();)
      it = it->name.rfind("fc.", 0) == 0 ? tensors.erase(it) : it + 1;
  m.tensors = as_float32(std::move(tensors), where);
  check_arch(m.info, arch, where);
  m.info.validate(where);
  return m;
}

ModelWeights from_training_checkpoint(const std::vector<NamedTensor>& all,
                                      const std::map<std::string, std::string>& meta, const std::string& where) {
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : all) {
    if (t.name.rfind("net.encoder_q.", 0) == 0) tensors.push_back({t.name.substr(14), t.tensor});
    if (t.name.rfind("net.fc_new.", 0) == 0) tensors.push_back({"head." + t.name.substr(11), t.tensor});
  }
  CSG_CHECK(!tensors.empty(), where, ": a csg training checkpoint without f_e weights (net.encoder_q.*)");
  ModelWeights m;
  m.info = infer_info(tensors, where);
  auto model = meta.find("model");  // checkpoints since the export format carry the whole ModelInfo
  if (model != meta.end()) {
    ModelInfo saved = model_info_from_json(model->second, where);
    stem_agreeing(m.info.stem, saved.stem, where);
    CSG_CHECK(saved.arch == m.info.arch && saved.width == m.info.width && saved.num_classes == m.info.num_classes &&
                  saved.head == m.info.head,
              where, ": metadata says ", saved.arch, " width ", saved.width, " ", saved.num_classes, " classes head ",
              saved.head, ", the tensors are ", m.info.arch, " width ", m.info.width, " ", m.info.num_classes,
              " classes head ", m.info.head);
    m.info = saved;
  } else {
    CSG_CHECK(!m.info.stem.empty(), where, ": conv1 is 3x3, yet the checkpoint's metadata does not name its stem");
    if (m.info.task() == Task::Classification)
      m.info.resize = m.info.crop = 224;  // `csg train`'s default --image-size, for checkpoints that do not say
  }
  m.tensors = as_float32(std::move(tensors), where);
  m.info.validate(where);
  return m;
}

}  // namespace

BackboneShape backbone_shape(const std::vector<NamedTensor>& tensors, const std::string& where) {
  Names names(tensors);
  CSG_CHECK(names.find("conv1.weight"), where,
            ": no conv1.weight; not a ResNet/DeepLab state dict (torchvision names expected)");
  return {depth_of(names, where), rows_of(names.find("conv1.weight"), "conv1.weight", where)};
}

std::vector<std::string> default_class_names(Task task, int64_t n) {
  std::vector<std::string> names;
  if (task == Task::Classification && n == 12)
    for (const char* c : data::visda_class_names()) names.emplace_back(c);
  else if (task == Task::Segmentation && n == data::kCityscapesNumClasses)
    for (const char* c : data::cityscapes_class_names()) names.emplace_back(c);
  else
    for (int64_t i = 0; i < n && i <= (int64_t(1) << 20); ++i) names.push_back(std::to_string(i));
  return names;
}

ModelWeights read_training_checkpoint(const std::string& path) {
  Checkpoint c = load_checkpoint(path);
  ModelWeights m = from_training_checkpoint(c.tensors, c.meta, path);
  m.source = path;
  return m;
}

namespace {
ModelWeights read_model_file(const std::string& path, const std::string& arch) {
  if (!is_safetensors_file(path)) return from_state_dict(load_pth(path), arch, path);
  std::map<std::string, std::string> meta;
  bool checksummed = false;
  std::vector<NamedTensor> tensors = load_safetensors(path, &meta, &checksummed);
  auto format = meta.find("format");
  if (format == meta.end()) {
    auto stem = meta.find("stem");
    return from_state_dict(std::move(tensors), arch, path, stem == meta.end() ? "" : stem->second);
  }
  if (format->second == "csg-checkpoint") {
    if (!checksummed) note_unverified(path, "checkpoint");
    ModelWeights m = from_training_checkpoint(tensors, meta, path);
    check_arch(m.info, arch, path);
    return m;
  }
  CSG_CHECK(format->second == kFormat, path, ": safetensors format '", format->second,
            "' is neither csg-model nor csg-checkpoint");
  auto version = meta.find("format_version");
  CSG_CHECK(version != meta.end() && version->second == kFormatVersion, path, ": csg-model format version '",
            version == meta.end() ? "(none)" : version->second, "' is not ", kFormatVersion,
            "; re-export it with this csg");
  if (!checksummed) note_unverified(path, "model file");
  auto model = meta.find("model");
  CSG_CHECK(model != meta.end(), path, ": csg-model file without its \"model\" metadata; re-export it");
  ModelWeights m;
  m.info = model_info_from_json(model->second, path);
  m.tensors = as_float32(std::move(tensors), path);
  check_arch(m.info, arch, path);
  return m;
}
}  // namespace

ModelWeights read_model(const std::string& path, const std::string& arch) {
  ModelWeights m = read_model_file(path, arch);
  m.source = path;
  return m;
}

void export_model(const std::string& path, const ModelWeights& m) {
  m.info.validate("export " + path);
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : m.tensors)
    if (t.tensor.dtype() != DType::I64) tensors.push_back(t);  // BN's num_batches_tracked: not needed to infer
  save_safetensors(path, tensors,
                   {{"format", kFormat}, {"format_version", kFormatVersion}, {"model", model_info_to_json(m.info)}});
}

}  // namespace csg::infer
