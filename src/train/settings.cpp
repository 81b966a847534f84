// src/train/settings.cpp — Config <-> text, one table for config.json, checkpoints and resume.
#include "src/train/settings.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "csg/version.h"
#include "src/io/json.h"

namespace csg::train {

std::string format_number(double v) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

namespace {

std::string text(bool b) { return b ? "true" : "false"; }
std::string text(int64_t v) { return std::to_string(v); }
std::string text(int v) { return std::to_string(v); }
std::string text(uint64_t v) { return std::to_string(v); }
std::string text(double v) { return format_number(v); }
std::string text(const std::string& s) { return s; }
std::string text(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

std::vector<Setting> settings_of(const Config& c) {
  // The trajectory column: true where a different value makes a resumed run compute something
  // else than the run it continues (data, model, method, optimisation, schedule, seed). Paths
  // of data and weights are recorded but not compared: a data set or a weights file may move.
  // --weights is reloaded on resume (f_eo is not stored), so a different file is a user error
  // this check cannot see; docs/training.md#what-a-run-writes says so.
  return {
      {"task", task_name(c.task), true},
      {"data", text(c.data), false},
      {"val-data", text(c.val_data), false},
      {"train-list", text(c.train_list), false},  // a path, like --data: a list may move
      {"train-split", text(c.train_split), true},
      {"val-split", text(c.val_split), false},
      {"image-size", text(c.image_size), true},
      {"crop", text(c.crop), true},
      {"workers", text(c.workers), false},  // the data of a step does not depend on it
      {"max-image-pixels", text(c.max_image_pixels), false},  // a cost guard: refuses, never changes, an image
      {"arch", text(c.arch), true},
      {"weights", text(c.weights), false},
      {"width", text(c.width), true},
      {"stem", text(c.stem), true},
      {"num-classes", text(c.num_classes), true},
      {"seg-head", text(c.seg_head), true},
      {"csg", text(c.csg), true},
      {"layers", text(c.layers), true},
      {"pool", c.apool ? "apool" : "gap", true},
      {"lambda", text(c.lambda), true},
      {"temperature", text(c.temperature), true},
      {"queue-size", text(c.queue_size), true},
      {"embed-dim", text(c.embed_dim), true},
      {"ema", text(c.ema_momentum), true},
      {"chunks", text(c.chunks), true},
      {"augment", text(c.augment), true},
      {"randaug-m", text(c.randaug_m), true},
      {"randaug-n", text(c.randaug_n), true},
      {"randaug-geometry", text(c.randaug_geometry), true},
      {"train-seg-heads", text(c.train_seg_heads), true},
      {"regularizer", text(c.regularizer), true},
      {"reg-weight", text(c.reg_weight), true},
      {"si-damping", text(c.si_damping), true},
      {"lr", text(c.lr), true},
      {"factor", text(c.factor), true},
      {"momentum", text(c.momentum), true},
      {"weight-decay", text(c.weight_decay), true},
      {"torch-sgd", text(c.torch_sgd), true},
      {"batch-size", text(c.batch_size), true},
      {"epochs", text(c.epochs), true},
      {"iters-per-epoch", text(c.iters_per_epoch), true},
      {"max-steps", text(c.max_steps), true},
      {"warmup", text(c.warmup), true},
      {"seed", text(c.seed), true},
      {"device", text(c.device), false},  // CPU and CUDA round differently; moving a run is allowed
      {"deterministic", text(c.deterministic), false},
      {"precision", text(c.precision), true},
      {"tf32", text(c.tf32), false},  // rounding only, as --device
      {"out", text(c.out_dir), false},
      {"log-every", text(c.log_every), false},
      {"checkpoint-every", text(c.checkpoint_every), false},
      {"keep-checkpoints", text(c.keep_checkpoints), false},
      {"eval", text(c.eval_at_end), false},
      {"eval-every", text(c.eval_every), false},  // evaluation reads the weights, never changes them
      // Evaluation alone never changes the weights; but with --eval-every the flip decides the
      // metric that picks best.ckpt, and a resume comparing metrics of two protocols would keep
      // the wrong best: then it is compared.
      {"flip-tta", text(c.flip_tta), c.eval_every > 0},
  };
}

std::map<std::string, std::string> settings_metadata(const Config& cfg) {
  std::map<std::string, std::string> m;
  for (const Setting& s : settings_of(cfg)) m["config." + s.key] = s.value;
  return m;
}

std::string settings_json(const Config& cfg, const std::string& run_id, const std::string& resumed_from) {
  using io::json::quote;
  std::string j = "{\n";
  j += "  \"run_id\": " + quote(run_id) + ",\n";
  j += "  \"csg_version\": " + quote(version()) + ",\n";
  j += "  \"build\": " + quote(build_features()) + ",\n";
  j += "  \"command_line\": " + quote(cfg.command_line) + ",\n";
  j += "  \"resumed_from\": " + quote(resumed_from) + ",\n";
  j += "  \"settings\": {\n";
  const std::vector<Setting> all = settings_of(cfg);
  for (size_t i = 0; i < all.size(); ++i)
    j += "    " + quote(all[i].key) + ": " + quote(all[i].value) + (i + 1 < all.size() ? ",\n" : "\n");
  j += "  }\n}\n";
  return j;
}

void check_training_values(const Config& c) {
  const std::pair<const char*, double> numbers[] = {
      {"lr", c.lr},           {"factor", c.factor},         {"momentum", c.momentum},   {"weight-decay", c.weight_decay},
      {"lambda", c.lambda},   {"temperature", c.temperature}, {"ema", c.ema_momentum}, {"randaug-m", c.randaug_m},
      {"reg-weight", c.reg_weight}, {"si-damping", c.si_damping}};
  for (const auto& [flag, v] : numbers)
    CSG_CHECK(std::isfinite(v), "--", flag, " ", v, ": not a finite number; give a real value");
  CSG_CHECK(c.lr > 0, "--lr ", c.lr, ": the learning rate must be > 0");
  constexpr int kMaxSide = 16384;  // as `csg predict --resize`: a larger side is a typo, not an image size
  CSG_CHECK(c.image_size >= 1 && c.image_size <= kMaxSide, "--image-size ", c.image_size, ": must be 1 .. ", kMaxSide);
  CSG_CHECK(c.crop >= 1 && c.crop <= kMaxSide, "--crop ", c.crop, ": must be 1 .. ", kMaxSide);
}

std::vector<std::string> resume_differences(const std::map<std::string, std::string>& meta, const Config& cfg) {
  std::vector<std::string> diffs;
  for (const Setting& s : settings_of(cfg)) {
    if (!s.trajectory) continue;
    auto it = meta.find("config." + s.key);
    if (it == meta.end() || it->second == s.value) continue;
    bool allowed = false;
    for (const std::string& k : cfg.allow_change) allowed = allowed || k == s.key;
    if (!allowed) diffs.push_back(s.key + ": " + it->second + " -> " + s.value);
  }
  return diffs;
}

namespace {

// Sets one network-shaping setting from its recorded text.
void apply_network_setting(Config& c, const std::string& key, const std::string& v, const std::string& where) {
  auto integer = [&]() -> int64_t {
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    CSG_CHECK(!v.empty() && *end == '\0', where, ": recorded ", key, " '", v, "' is not an integer");
    return x;
  };
  if (key == "arch") c.arch = v;
  else if (key == "width") c.width = integer();
  else if (key == "stem") c.stem = v;
  else if (key == "num-classes") c.num_classes = integer();
  else if (key == "seg-head") c.seg_head = v;
  else if (key == "pool") c.apool = v == "apool";
  else if (key == "csg") c.csg = v == "true";
  else if (key == "embed-dim") c.embed_dim = integer();
  else if (key == "image-size") c.image_size = static_cast<int>(integer());
  else if (key == "layers") {
    c.layers.clear();
    for (char ch : v)
      if (ch >= '1' && ch <= '4') c.layers.push_back(ch - '0');
  }
}

}  // namespace

const std::vector<std::string>& network_setting_keys() {
  static const std::vector<std::string> keys = {"arch", "width", "stem", "num-classes", "seg-head", "layers",
                                                "pool", "csg", "embed-dim", "image-size"};
  return keys;
}

void check_checkpoint_task(const std::map<std::string, std::string>& meta, const std::string& path, Task task,
                           const std::string& command) {
  auto it = meta.find("task");
  if (it == meta.end() || it->second == task_name(task)) return;
  const bool visda = it->second == task_name(Task::Visda);
  const char* holds = visda ? "a VisDA checkpoint (a classifier, from csg train visda)"
                            : "a GTA5 checkpoint (a DeepLab segmentation model, from csg train gta5)";
  const char* use = visda ? "csg eval visda, csg hse or csg train visda --resume"
                          : "csg eval gta5 or csg train gta5 --resume";
  CSG_FAIL(path, " is ", holds, "; this command would ", command, " it as a ",
           task == Task::Visda ? "VisDA" : "GTA5", " model. Use it with ", use);
}

Config with_checkpoint_network_settings(Config cfg, const std::map<std::string, std::string>& meta,
                                        const std::string& path, const std::vector<std::string>& given) {
  check_checkpoint_task(meta, path, cfg.task, "evaluate");
  const std::vector<Setting> now = settings_of(cfg);
  for (const std::string& key : network_setting_keys()) {
    auto it = meta.find("config." + key);
    if (it == meta.end()) continue;
    std::string current;
    for (const Setting& s : now)
      if (s.key == key) current = s.value;
    bool is_given = false;
    for (const std::string& g : given) is_given = is_given || g == key;
    CSG_CHECK(!is_given || current == it->second, path, " was trained with --", key, " ", it->second,
              ", this command asks for ", current, "; drop --", key, " (the checkpoint's value is used)");
    apply_network_setting(cfg, key, it->second, path);
  }
  return cfg;
}

}  // namespace csg::train
