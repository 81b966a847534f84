// src/train/setting_table.cpp — every field of Config described once: its flag name, its text
// both ways, and what a resume and an evaluation do with it (src/train/settings.h SettingDef).
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "src/train/settings.h"

namespace csg::train {

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

namespace {

// ---- a value as text, and back (the read errors name the text; the caller names the setting) ----
std::string text(bool b) { return b ? "true" : "false"; }
template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
std::string text(T v) {
  return std::to_string(v);
}
std::string text(double v) { return format_number(v); }
std::string text(const std::string& s) { return s; }
std::string text(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}
template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
std::string text(E e) {
  return name_of(e);  // the enum's name table (csg/settings.h)
}

void read(const std::string& v, bool& out) {
  CSG_CHECK(v == "true" || v == "false", "'", v, "' is not true or false");
  out = v == "true";
}
template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
void read(const std::string& v, T& out) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  CSG_CHECK(!v.empty() && *end == '\0', "'", v, "' is not an integer");
  out = static_cast<T>(x);
}
void read(const std::string& v, double& out) {
  char* end = nullptr;
  out = std::strtod(v.c_str(), &end);
  CSG_CHECK(!v.empty() && *end == '\0', "'", v, "' is not a number");
}
void read(const std::string& v, std::string& out) { out = v; }
void read(const std::string& v, std::vector<int>& out) { out = parse_layers(v); }
void read(const std::string& v, Task& out) { out = parse_task(v); }
void read(const std::string& v, Arch& out) { out = parse_arch(v); }
void read(const std::string& v, Stem& out) { out = models::parse_stem(v); }
void read(const std::string& v, SegHead& out) { out = models::parse_deeplab_head(v); }
void read(const std::string& v, RandAugmentGeometry& out) { out = parse_randaug_geometry(v); }
void read(const std::string& v, Regularizer& out) { out = method::parse_regularizer(v); }
void read(const std::string& v, Precision& out) { out = parse_precision(v); }

// A setting that is one field of Config, printed and read by its type.
template <class T>
SettingDef field(const char* key, T Config::*member, OnResume resume, bool network = false) {
  return {key, [member](const Config& c) { return text(c.*member); },
          [member](Config& c, const std::string& v) { read(v, c.*member); }, resume, network};
}

constexpr OnResume kCompared = OnResume::Compared, kRecorded = OnResume::Recorded;
constexpr bool kNetwork = true;  // shapes the network or its input: evaluation reads it from the checkpoint

}  // namespace

const std::vector<SettingDef>& setting_table() {
  // Compared: a different value makes a resumed run compute something else than the run it
  // continues (data, model, method, optimisation, schedule, seed). Paths of data and weights are
  // recorded but not compared: a data set or a weights file may move. --weights is reloaded on
  // resume (f_eo is not stored), so a different file is a user error this check cannot see;
  // docs/training.md#what-a-run-writes says so.
  static const std::vector<SettingDef> table = {
      field("task", &Config::task, kCompared),
      field("data", &Config::data, kRecorded),
      field("val-data", &Config::val_data, kRecorded),
      field("train-list", &Config::train_list, kRecorded),  // a path, like --data: a list may move
      field("train-split", &Config::train_split, kCompared),
      field("val-split", &Config::val_split, kRecorded),
      field("image-size", &Config::image_size, kCompared, kNetwork),
      field("crop", &Config::crop, kCompared),
      field("workers", &Config::workers, kRecorded),  // the data of a step does not depend on it
      field("max-image-pixels", &Config::max_image_pixels, kRecorded),  // a cost guard: refuses, never changes, an image
      field("arch", &Config::arch, kCompared, kNetwork),
      field("weights", &Config::weights, kRecorded),
      field("width", &Config::width, kCompared, kNetwork),
      field("stem", &Config::stem, kCompared, kNetwork),
      field("num-classes", &Config::num_classes, kCompared, kNetwork),
      field("seg-head", &Config::seg_head, kCompared, kNetwork),
      field("csg", &Config::csg, kCompared, kNetwork),
      field("layers", &Config::layers, kCompared, kNetwork),
      {"pool", [](const Config& c) -> std::string { return pool_name(c.apool); },
       [](Config& c, const std::string& v) { c.apool = parse_pool(v); }, kCompared, kNetwork},
      field("lambda", &Config::lambda, kCompared),
      field("temperature", &Config::temperature, kCompared),
      field("queue-size", &Config::queue_size, kCompared),
      field("embed-dim", &Config::embed_dim, kCompared, kNetwork),
      field("ema", &Config::ema_momentum, kCompared),
      field("chunks", &Config::chunks, kCompared),
      field("augment", &Config::augment, kCompared),
      field("randaug-m", &Config::randaug_m, kCompared),
      field("randaug-n", &Config::randaug_n, kCompared),
      field("randaug-geometry", &Config::randaug_geometry, kCompared),
      field("train-seg-heads", &Config::train_seg_heads, kCompared),
      field("regularizer", &Config::regularizer, kCompared),
      field("reg-weight", &Config::reg_weight, kCompared),
      field("si-damping", &Config::si_damping, kCompared),
      field("lr", &Config::lr, kCompared),
      field("factor", &Config::factor, kCompared),
      field("momentum", &Config::momentum, kCompared),
      field("weight-decay", &Config::weight_decay, kCompared),
      field("torch-sgd", &Config::torch_sgd, kCompared),
      field("batch-size", &Config::batch_size, kCompared),
      field("epochs", &Config::epochs, kCompared),
      field("iters-per-epoch", &Config::iters_per_epoch, kCompared),
      field("max-steps", &Config::max_steps, kCompared),
      field("warmup", &Config::warmup, kCompared),
      field("seed", &Config::seed, kCompared),
      field("device", &Config::device, kRecorded),  // CPU and CUDA round differently; moving a run is allowed
      field("deterministic", &Config::deterministic, kRecorded),
      field("precision", &Config::precision, kCompared),
      field("tf32", &Config::tf32, kRecorded),  // rounding only, as --device
      field("out", &Config::out_dir, kRecorded),
      field("log-every", &Config::log_every, kRecorded),
      field("checkpoint-every", &Config::checkpoint_every, kRecorded),
      field("keep-checkpoints", &Config::keep_checkpoints, kRecorded),
      field("eval", &Config::eval_at_end, kRecorded),
      field("eval-every", &Config::eval_every, kRecorded),  // evaluation reads the weights, never changes them
      // Evaluation alone never changes the weights; but with --eval-every the flip decides the
      // metric that picks best.ckpt, and a resume comparing metrics of two protocols would keep
      // the wrong best: then it is compared.
      field("flip-tta", &Config::flip_tta, OnResume::ComparedWithEvalEvery),
  };
  return table;
}

bool compared_on_resume(const SettingDef& s, const Config& cfg) {
  return s.resume == OnResume::Compared || (s.resume == OnResume::ComparedWithEvalEvery && cfg.eval_every > 0);
}

void set_from_text(Config& cfg, const SettingDef& s, const std::string& value, const std::string& where) {
  try {
    s.parse(cfg, value);
  } catch (const Error& e) {
    const std::string what = e.what();
    CSG_FAIL(where, ": recorded ", s.key, ": ", what.substr(0, what.rfind(" (")));  // without the source location
  }
}

}  // namespace csg::train
