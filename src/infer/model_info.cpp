// src/infer/model_info.cpp — ModelInfo: checks and its JSON form (the "model" metadata entry
// of an exported file).
#include <sstream>

#include "csg/error.h"
#include "csg/infer.h"
#include "csg/models/architecture.h"
#include "src/io/json.h"

namespace csg::infer {

int ModelInfo::depth() const {
  const std::string family = task() == Task::Segmentation ? "deeplab" : "resnet";
  for (int d : models::kResNetDepths)
    if (arch == family + std::to_string(d)) return d;
  CSG_FAIL("model arch '", arch, "' is not one of resnet18/34/50/101 or deeplab18/34/50/101");
}

void ModelInfo::validate(const std::string& where) const {
  CSG_CHECK(arch.rfind("resnet", 0) == 0 || arch.rfind("deeplab", 0) == 0, where, ": arch '", arch,
            "' is not one of resnet18/34/50/101 or deeplab18/34/50/101");
  depth();
  const bool seg = task() == Task::Segmentation;
  const bool head_ok = seg ? (head == "aspp-csg" || head == "aspp-v2") : (head == "fc" || head == "mlp");
  CSG_CHECK(head_ok, where, ": head '", head, "' does not fit arch ", arch, " (expected ",
            seg ? "aspp-csg or aspp-v2" : "fc or mlp", ")");
  CSG_CHECK(num_classes >= 1 && num_classes <= (int64_t(1) << 20), where, ": num_classes ", num_classes,
            " is out of range (1 .. 2^20)");
  CSG_CHECK(seg ? num_classes <= 256 : true, where, ": a segmentation model has at most 256 classes (uint8 label maps), not ",
            num_classes);
  CSG_CHECK(width >= 1 && width <= 4096, where, ": width ", width, " is out of range (1 .. 4096)");
  CSG_CHECK(seg ? width == 64 : true, where, ": DeepLab is built at width 64, the file says ", width);
  CSG_CHECK(stem == "imagenet" || stem == "small" || stem == "cifar", where, ": stem '", stem,
            "' is not one of imagenet, small, cifar");
  CSG_CHECK(seg ? stem == "imagenet" : true, where, ": DeepLab is built with the imagenet stem, the file says ", stem);
  CSG_CHECK(class_names.size() == static_cast<size_t>(num_classes), where, ": ", class_names.size(),
            " class names for ", num_classes, " classes");
  CSG_CHECK(resize >= 1 && crop >= 1 && crop <= resize && resize <= 16384, where, ": resize ", resize, " / crop ", crop,
            " must satisfy 1 <= crop <= resize <= 16384");
  CSG_CHECK(input_width >= 0 && input_height >= 0 && input_width <= 16384 && input_height <= 16384 &&
                (input_width == 0) == (input_height == 0),
            where, ": input size ", input_width, "x", input_height, " must be both 0 or both in 1 .. 16384");
  for (int c = 0; c < 3; ++c)
    CSG_CHECK(std[c] > 0 && std[c] < 1e6 && mean[c] > -1e6 && mean[c] < 1e6, where,
              ": mean/std channel ", c, " (", mean[c], ", ", std[c], ") must be finite with std > 0");
}

namespace {

using io::json::Value;

std::string triple(const std::array<float, 3>& v) {
  std::ostringstream os;
  os.precision(9);
  os << "[" << v[0] << "," << v[1] << "," << v[2] << "]";
  return os.str();
}

const Value& member(const Value& obj, const char* key, Value::Kind kind, const std::string& where) {
  const Value* v = obj.find(key);
  CSG_CHECK(v, where, ": model metadata has no \"", key, "\"; re-export the model with this csg");
  CSG_CHECK(v->kind == kind, where, ": model metadata \"", key, "\" is a ", v->kind_name());
  return *v;
}

int64_t integer(const Value& obj, const char* key, const std::string& where) {
  const Value& v = member(obj, key, Value::Kind::Number, where);
  CSG_CHECK(v.is_integer, where, ": model metadata \"", key, "\" must be an integer");
  return v.integer;
}

int small_int(const Value& obj, const char* key, const std::string& where) {
  const int64_t v = integer(obj, key, where);
  CSG_CHECK(v >= 0 && v <= 65536, where, ": model metadata \"", key, "\" = ", v, " is out of range (0 .. 65536)");
  return static_cast<int>(v);
}

std::array<float, 3> read_triple(const Value& obj, const char* key, const std::string& where) {
  const Value& v = member(obj, key, Value::Kind::Array, where);
  CSG_CHECK(v.items.size() == 3, where, ": model metadata \"", key, "\" must hold 3 numbers");
  std::array<float, 3> out{};
  for (int i = 0; i < 3; ++i) {
    CSG_CHECK(v.items[i].kind == Value::Kind::Number, where, ": model metadata \"", key, "\" must hold numbers");
    const double x = v.items[i].is_integer ? double(v.items[i].integer) : v.items[i].number;
    CSG_CHECK(x > -1e6 && x < 1e6, where, ": model metadata \"", key, "\" holds ", x, ", outside (-1e6, 1e6)");
    out[i] = static_cast<float>(x);
  }
  return out;
}

}  // namespace

std::string model_info_to_json(const ModelInfo& m) {
  std::ostringstream os;
  os << "{\"arch\":" << io::json::quote(m.arch) << ",\"width\":" << m.width << ",\"stem\":" << io::json::quote(m.stem)
     << ",\"num_classes\":" << m.num_classes
     << ",\"head\":" << io::json::quote(m.head) << ",\"task\":\""
     << (m.task() == Task::Segmentation ? "segmentation" : "classification") << "\",\"class_names\":[";
  for (size_t i = 0; i < m.class_names.size(); ++i) os << (i ? "," : "") << io::json::quote(m.class_names[i]);
  os << "],\"resize\":" << m.resize << ",\"crop\":" << m.crop << ",\"input_width\":" << m.input_width
     << ",\"input_height\":" << m.input_height << ",\"mean\":" << triple(m.mean) << ",\"std\":" << triple(m.std)
     << "}";
  return os.str();
}

ModelInfo model_info_from_json(const std::string& json, const std::string& where) {
  const Value root = io::json::parse(json, where + ": model metadata");
  CSG_CHECK(root.kind == Value::Kind::Object, where, ": model metadata must be a JSON object");
  ModelInfo m;
  m.arch = member(root, "arch", Value::Kind::String, where).text;
  m.width = integer(root, "width", where);
  if (root.find("stem")) m.stem = member(root, "stem", Value::Kind::String, where).text;  // absent: files before stems
  m.num_classes = integer(root, "num_classes", where);
  m.head = member(root, "head", Value::Kind::String, where).text;
  for (const Value& n : member(root, "class_names", Value::Kind::Array, where).items) {
    CSG_CHECK(n.kind == Value::Kind::String, where, ": model metadata \"class_names\" must hold strings");
    m.class_names.push_back(n.text);
  }
  m.resize = small_int(root, "resize", where);
  m.crop = small_int(root, "crop", where);
  m.input_width = small_int(root, "input_width", where);
  m.input_height = small_int(root, "input_height", where);
  m.mean = read_triple(root, "mean", where);
  m.std = read_triple(root, "std", where);
  m.validate(where);
  return m;
}

}  // namespace csg::infer
