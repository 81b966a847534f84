// src/train/settings.cpp — Config as text (src/train/setting_table.cpp) for config.json, checkpoints,
// the resume check and evaluating a checkpoint.
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

std::vector<Setting> settings_of(const Config& c) {
  std::vector<Setting> all;
  for (const SettingDef& s : setting_table()) all.push_back({s.key, s.print(c), compared_on_resume(s, c)});
  return all;
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

std::vector<std::string> network_setting_keys() {
  std::vector<std::string> keys;
  for (const SettingDef& s : setting_table())
    if (s.network) keys.push_back(s.key);
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
  const Config asked = cfg;
  for (const SettingDef& s : setting_table()) {
    if (!s.network) continue;
    auto it = meta.find(std::string("config.") + s.key);
    if (it == meta.end()) continue;
    const std::string current = s.print(asked);
    bool is_given = false;
    for (const std::string& g : given) is_given = is_given || g == s.key;
    CSG_CHECK(!is_given || current == it->second, path, " was trained with --", s.key, " ", it->second,
              ", this command asks for ", current, "; drop --", s.key, " (the checkpoint's value is used)");
    set_from_text(cfg, s, it->second, path);
  }
  return cfg;
}

}  // namespace csg::train
