// src/train/run_start.cpp — see run_start.h.
#include "src/train/run_start.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "csg/io/checkpoint.h"
#include "src/io/atomic_file.h"
#include "src/train/run_folder.h"
#include "src/train/settings.h"
#include "src/train/state.h"

namespace csg::train {
namespace {

// A run id unique across machines and time: start time in microseconds and 64 random bits.
std::string new_run_id() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llx-%016llx", static_cast<unsigned long long>(us),
                static_cast<unsigned long long>(r));
  return buf;
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

// What the run continues: resolves --resume (latest / folder / file) and checks the checkpoint's
// task and settings against cfg. Writes nothing: the run folder is made once the whole set-up has
// passed (open_run_folder), so a start that fails leaves no folder behind.
RunStart plan_run(Config& cfg) {
  namespace fs = std::filesystem;
  RunStart start;
  start.run_id = new_run_id();
  if (cfg.resume.empty()) return start;
  start.resume_path = resolve_resume(cfg.resume, cfg.out_dir, cfg.runs_root, task_name(cfg.task));
  const std::string folder = fs::path(start.resume_path).parent_path().string();
  if (cfg.out_dir.empty()) cfg.out_dir = folder.empty() ? "." : folder;
  start.continuing = same_folder(folder.empty() ? "." : folder, cfg.out_dir);
  const std::map<std::string, std::string> meta = load_checkpoint_meta(start.resume_path);
  check_resume_settings(start.resume_path, meta, cfg);
  auto id = meta.find("run_id");
  if (id != meta.end() && !id->second.empty()) start.run_id = id->second;  // one run, continued
  auto st = meta.find("step");
  if (st != meta.end()) start.resume_step = std::atoll(st->second.c_str());
  return start;
}

}  // namespace

RunStart plan_run_on_root(dist::Communicator& comm, Config& cfg) {
  const std::string text = on_root(comm, [&] {
    const RunStart s = plan_run(cfg);
    return s.run_id + "\n" + s.resume_path + "\n" + std::to_string(s.resume_step) + "\n" +
           (s.continuing ? "1" : "0") + "\n" + cfg.out_dir;
  });
  std::vector<std::string> lines;
  for (size_t from = 0;;) {
    const size_t nl = text.find('\n', from);
    lines.push_back(text.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
    if (nl == std::string::npos || lines.size() == 5) break;
    from = nl + 1;
  }
  RunStart start;
  start.run_id = lines[0];
  start.resume_path = lines[1];
  start.resume_step = std::atoll(lines[2].c_str());
  start.continuing = lines[3] == "1";
  cfg.out_dir = lines[4];
  return start;
}

// Prepares cfg.out_dir (see run_start.h) and writes config.json there, on rank 0.
void open_run_folder_on_root(dist::Communicator& comm, Config& cfg, const RunStart& start) {
  namespace fs = std::filesystem;
  cfg.out_dir = on_root(comm, [&] {
    const std::string dir =
        prepare_run_folder(cfg.out_dir, cfg.runs_root, task_name(cfg.task), start.continuing, cfg.overwrite).out_dir;
    const std::string name =
        start.continuing ? "config-resume-" + std::to_string(start.resume_step) + ".json" : "config.json";
    Config recorded = cfg;
    recorded.out_dir = dir;
    io::write_text_file_atomically((fs::path(dir) / name).string(),
                                   settings_json(recorded, start.run_id, start.resume_path));
    std::fprintf(stderr, "run folder %s (settings in %s)\n", dir.c_str(), name.c_str());
    return dir;
  });
}

void restore_best(BestCheckpoint& best, const std::string& resume_path, const std::string& run_id) {
  best.restore(load_checkpoint_meta(resume_path));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(best.path(), ec)) return;
  std::map<std::string, std::string> meta;
  try {
    meta = load_checkpoint_meta(best.path());
  } catch (const CorruptFile& e) {  // the run goes on; a better evaluation writes a new best.ckpt
    std::fprintf(stderr, "warning: %s; its best-so-far record is not used\n", e.what());
    return;
  }
  auto id = meta.find("run_id");
  if (id != meta.end() && id->second == run_id) best.restore(meta);
}

}  // namespace csg::train
