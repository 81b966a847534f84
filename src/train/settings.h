// src/train/settings.h — a run's settings as text: what config.json and every checkpoint record,
// and what a resumed run is compared against.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "csg/train.h"

namespace csg::train {

// What a resumed run does with a setting.
enum class OnResume {
  Recorded,               // written down, never compared (paths, the device, bookkeeping)
  Compared,               // a change alters what the run computes: refused unless --allow-change names it
  ComparedWithEvalEvery,  // compared when Config::eval_every > 0 (flip-tta: it picks best.ckpt then)
};

// One setting, described once: config.json, checkpoint metadata, the resume check, evaluation
// (network settings read back from a checkpoint) and `csg train --allow-change` all read the table.
struct SettingDef {
  const char* key;  // the command-line flag without "--" ("lr", "batch-size", "layers")
  std::function<std::string(const Config&)> print;           // "0.0001", "3,4", "true", "resnet101"
  std::function<void(Config&, const std::string&)> parse;     // the inverse of print; throws on bad text
  OnResume resume;
  bool network;  // shapes the network or its input: an evaluation takes it from the checkpoint
};
// Every field of Config, in Config's order.
const std::vector<SettingDef>& setting_table();
// Whether a resume compares `s` for a run configured as `cfg`.
bool compared_on_resume(const SettingDef& s, const Config& cfg);
// s.parse, with an error that names `where` (a checkpoint) and the setting.
void set_from_text(Config& cfg, const SettingDef& s, const std::string& value, const std::string& where);

// "3,4" -> {3, 4}: stages 1..4, each at most once (--layers, and its record).
std::vector<int> parse_layers(const std::string& s);

struct Setting {
  std::string key;    // the command-line flag without "--" ("lr", "batch-size", "layers")
  std::string value;  // as text: "0.0001", "3,4", "true"
  bool trajectory;    // changing it on resume changes what the run computes
};

// Every field of the configuration as text, in Config's order (setting_table's print).
std::vector<Setting> settings_of(const Config& cfg);

// Checkpoint metadata keys are "config.<key>".
std::map<std::string, std::string> settings_metadata(const Config& cfg);

// config.json: {"run_id", "csg_version", "build", "command_line", "resumed_from", "settings": {...}}.
std::string settings_json(const Config& cfg, const std::string& run_id, const std::string& resumed_from);

// The trajectory settings whose value in a checkpoint's metadata differs from `cfg`'s and that
// `cfg.allow_change` does not name, as "key: checkpoint -> now". Keys the checkpoint does not
// record (written by an older csg) are not compared.
std::vector<std::string> resume_differences(const std::map<std::string, std::string>& checkpoint_meta,
                                            const Config& cfg);

// Refuses a checkpoint of the other task before anything else is compared, saying which task it
// holds and the command that uses it (`command`: what this one does with it, e.g. "evaluate").
// A checkpoint that records no task (not a csg training checkpoint) passes.
void check_checkpoint_task(const std::map<std::string, std::string>& checkpoint_meta, const std::string& path,
                           Task task, const std::string& command);

// For evaluating a checkpoint: the settings that shape the network and its input (arch, width,
// num-classes, seg-head, layers, pool, csg, embed-dim, image-size) as the checkpoint's metadata
// records them. A setting named in `given` (set on the command line) must agree with the
// checkpoint (csg::Error naming both values); the others are taken from it. A checkpoint of an
// older csg records none of them: cfg comes back unchanged.
// The keys of those settings (SettingDef::network), in the table's order.
std::vector<std::string> network_setting_keys();
Config with_checkpoint_network_settings(Config cfg, const std::map<std::string, std::string>& checkpoint_meta,
                                        const std::string& checkpoint_path, const std::vector<std::string>& given);

// Refuses, naming the flag, values no run can use, before anything is built or written: numbers that
// are not finite (--lr nan passed the command line's range checks and failed at step 1), a learning
// rate that is not positive, image sizes beyond 16384 pixels a side (as `csg predict --resize`).
void check_training_values(const Config& cfg);

// Shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string format_number(double v);

}  // namespace csg::train
