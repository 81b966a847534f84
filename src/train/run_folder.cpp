// src/train/run_folder.cpp — run folders: names, resume targets, the refusal and --overwrite.
#include "src/train/run_folder.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "csg/io/checkpoint.h"

namespace csg::train {

namespace fs = std::filesystem;

std::string new_run_folder_name(const std::string& root, const std::string& task) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  const std::string base = (fs::path(root) / (task + "-" + stamp)).string();
  std::string name = base;
  for (int k = 2; fs::exists(name); ++k) name = base + "-" + std::to_string(k);
  return name;
}

namespace {

std::string newest_checkpoint_in(const std::string& dir) {
  std::vector<CheckpointFile> all = list_checkpoints(dir, "csg");
  return all.empty() ? "" : all.back().path;
}

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string resolve_resume(const std::string& resume, const std::string& out_dir, const std::string& root,
                           const std::string& task) {
  if (resume == "latest") {
    if (!out_dir.empty()) {
      const std::string found = newest_checkpoint_in(out_dir);
      CSG_CHECK(!found.empty(), "--resume latest: no checkpoint (csg-<step>.ckpt) in ", out_dir,
                "; give a checkpoint file or the run folder that has one");
      return found;
    }
    // The newest run folder of this task: names sort by their time stamp.
    std::vector<std::string> runs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_directory() && starts_with(e.path().filename().string(), task + "-")) runs.push_back(e.path().string());
    std::sort(runs.begin(), runs.end());
    for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
      const std::string found = newest_checkpoint_in(*it);
      if (!found.empty()) return found;
    }
    CSG_FAIL("--resume latest: no run folder ", root, "/", task, "-* holds a checkpoint; give --out RUN_FOLDER or ",
             "--resume PATH");
  }
  CSG_CHECK(fs::exists(resume), "--resume ", resume, ": no such file or folder");
  if (fs::is_directory(resume)) {
    const std::string found = newest_checkpoint_in(resume);
    CSG_CHECK(!found.empty(), "--resume ", resume, ": the folder holds no checkpoint (csg-<step>.ckpt)");
    return found;
  }
  return resume;
}

bool is_run_file(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (fs::is_directory(p)) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (!is_run_file(e.path().string())) return false;
    return true;
  }
  const bool checkpoint = starts_with(name, "csg-") && (ends_with(name, ".ckpt") || name.find(".ckpt.tmp") != std::string::npos);
  return checkpoint || name == "log.csv" || name == "best.ckpt" || (starts_with(name, "config") && ends_with(name, ".json")) ||
         starts_with(name, "events.out.tfevents.") || ends_with(name, ".png") ||
         name == "table.md" || name == "results.csv";  // the digits benchmark's table and its numbers
}

RunFolderPlan prepare_run_folder(const std::string& out_dir, const std::string& default_root, const std::string& task,
                                 bool continuing, bool overwrite) {
  RunFolderPlan plan;
  plan.out_dir = out_dir.empty() ? new_run_folder_name(default_root, task) : out_dir;
  std::error_code ec;
  std::vector<fs::path> present;
  if (fs::is_directory(plan.out_dir, ec))
    for (const auto& e : fs::directory_iterator(plan.out_dir, ec)) present.push_back(e.path());
  std::sort(present.begin(), present.end());
  if (!continuing && !present.empty()) {
    std::string listed;
    for (size_t i = 0; i < present.size() && i < 5; ++i) listed += (i ? ", " : "") + present[i].filename().string();
    if (present.size() > 5) listed += ", ... (" + std::to_string(present.size()) + " entries)";
    CSG_CHECK(overwrite, plan.out_dir, " already holds files of another run (", listed,
              "). Continue that run with --resume latest --out ", plan.out_dir, ", start over in it with --overwrite ",
              "(deletes them), or choose another --out (the default is a new folder per run)");
    std::vector<std::string> foreign;
    for (const fs::path& p : present)
      if (!is_run_file(p.string())) foreign.push_back(p.filename().string());
    if (!foreign.empty()) {
      std::string names;
      for (const std::string& f : foreign) names += (names.empty() ? "" : ", ") + f;
      CSG_FAIL("--overwrite: ", plan.out_dir, " holds files no run writes (", names,
               "); refusing to empty it. Remove them yourself or choose another --out");
    }
    std::fprintf(stderr, "--overwrite: removing %zu entries from %s:", present.size(), plan.out_dir.c_str());
    for (const fs::path& p : present) std::fprintf(stderr, " %s", p.filename().string().c_str());
    std::fprintf(stderr, "\n");
    for (const fs::path& p : present) {
      fs::remove_all(p, ec);
      CSG_CHECK(!ec, "--overwrite: could not remove ", p.string(), ": ", ec.message());
      plan.removed.push_back(p.string());
    }
  }
  fs::create_directories(plan.out_dir, ec);
  CSG_CHECK(fs::is_directory(plan.out_dir), plan.out_dir, ": cannot create the run folder",
            ec ? " (" + ec.message() + ")" : std::string());
  return plan;
}

}  // namespace csg::train
