// src/train/run_folder.cpp — run folders: names, resume targets, the refusal and --overwrite.
#include "src/train/run_folder.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "csg/io/checkpoint.h"
#include "src/io/atomic_file.h"

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

bool has_checkpoint(const std::string& dir) { return !list_checkpoints(dir, "csg").empty(); }

// The newest checkpoint of `dir` that reads whole and matches its checksums; each newer one
// that does not is skipped with a warning naming it and why. `what` names the search in the
// error raised when none is intact.
std::string newest_intact_checkpoint_in(const std::string& dir, const std::string& what) {
  std::vector<CheckpointFile> all = list_checkpoints(dir, "csg");
  std::vector<std::string> skipped;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const std::string damage = checkpoint_damage(it->path);
    if (damage.empty()) {
      if (!skipped.empty())
        std::fprintf(stderr, "warning: resuming from %s, the newest intact checkpoint of %s\n", it->path.c_str(),
                     dir.c_str());
      return it->path;
    }
    std::fprintf(stderr, "warning: --resume skips %s: %s\n", it->path.c_str(), damage.c_str());
    skipped.push_back(it->path);
  }
  std::string listed;
  for (const std::string& p : skipped) listed += (listed.empty() ? "" : ", ") + p;
  CSG_FAIL(what, ": no intact checkpoint in ", dir, " (every one is damaged: ", listed,
           "); restore one from a copy, or start the run again");
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
      CSG_CHECK(has_checkpoint(out_dir), "--resume latest: no checkpoint (csg-<step>.ckpt) in ", out_dir,
                "; give a checkpoint file or the run folder that has one");
      return newest_intact_checkpoint_in(out_dir, "--resume latest");
    }
    // The newest run folder of this task: names sort by their time stamp.
    std::vector<std::string> runs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_directory() && starts_with(e.path().filename().string(), task + "-")) runs.push_back(e.path().string());
    std::sort(runs.begin(), runs.end());
    // The newest run with a checkpoint; never an older run's when its checkpoints are damaged.
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if (has_checkpoint(*it)) return newest_intact_checkpoint_in(*it, "--resume latest");
    CSG_FAIL("--resume latest: no run folder ", root, "/", task, "-* holds a checkpoint; give --out RUN_FOLDER or ",
             "--resume PATH");
  }
  CSG_CHECK(fs::exists(resume), "--resume ", resume, ": no such file or folder");
  if (fs::is_directory(resume)) {
    CSG_CHECK(has_checkpoint(resume), "--resume ", resume, ": the folder holds no checkpoint (csg-<step>.ckpt)");
    return newest_intact_checkpoint_in(resume, "--resume " + resume);
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

namespace {

// A checkpoint or a result table anywhere under `p`: what makes a folder a run worth keeping.
bool holds_results(const fs::path& p) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const auto& e : fs::directory_iterator(p, ec))
      if (holds_results(e.path())) return true;
    return false;
  }
  const std::string name = p.filename().string();
  return (starts_with(name, "csg-") && ends_with(name, ".ckpt")) || name == "best.ckpt" || name == "table.md";
}

std::string list_some(const std::vector<fs::path>& present) {
  std::string listed;
  for (size_t i = 0; i < present.size() && i < 5; ++i) listed += (i ? ", " : "") + present[i].filename().string();
  if (present.size() > 5) listed += ", ... (" + std::to_string(present.size()) + " entries)";
  return listed;
}

void remove_entries(const std::vector<fs::path>& present, const char* what, const std::string& dir,
                    RunFolderPlan& plan) {
  std::fprintf(stderr, "%s: removing %zu entries from %s:", what, present.size(), dir.c_str());
  for (const fs::path& p : present) std::fprintf(stderr, " %s", p.filename().string().c_str());
  std::fprintf(stderr, "\n");
  std::error_code ec;
  for (const fs::path& p : present) {
    fs::remove_all(p, ec);
    CSG_CHECK(!ec, what, ": could not remove ", p.string(), ": ", ec.message());
    plan.removed.push_back(p.string());
  }
}

}  // namespace

RunFolderPlan prepare_run_folder(const std::string& out_dir, const std::string& default_root, const std::string& task,
                                 bool continuing, bool overwrite) {
  RunFolderPlan plan;
  plan.out_dir = out_dir.empty() ? new_run_folder_name(default_root, task) : out_dir;
  std::error_code ec;
  std::vector<fs::path> present;
  if (fs::is_directory(plan.out_dir, ec))
    for (const auto& e : fs::directory_iterator(plan.out_dir, ec)) present.push_back(e.path());
  std::sort(present.begin(), present.end());
  if (continuing) {
    for (const std::string& t : io::remove_stale_temporary_files(plan.out_dir))
      std::fprintf(stderr, "removed %s, left by a process that died while writing it\n", t.c_str());
  } else if (!present.empty()) {
    std::vector<std::string> foreign;
    for (const fs::path& p : present)
      if (!is_run_file(p.string())) foreign.push_back(p.filename().string());
    bool results = false;
    for (const fs::path& p : present) results = results || holds_results(p);
    if (foreign.empty() && !results) {
      // What a start that failed, or a run killed before its first checkpoint, left (config.json,
      // log.csv, events): nothing of it can be continued, so it does not count as a run.
      remove_entries(present, "no checkpoint in this folder (a run that stopped before its first)", plan.out_dir, plan);
    } else {
      CSG_CHECK(overwrite, plan.out_dir, " already holds files of another run (", list_some(present),
                "). Continue that run with --resume latest --out ", plan.out_dir, ", start over in it with --overwrite ",
                "(deletes them), or choose another --out (the default is a new folder per run)");
      if (!foreign.empty()) {
        std::string names;
        for (const std::string& f : foreign) names += (names.empty() ? "" : ", ") + f;
        CSG_FAIL("--overwrite: ", plan.out_dir, " holds files no run writes (", names,
                 "); refusing to empty it. Remove them yourself or choose another --out");
      }
      remove_entries(present, "--overwrite", plan.out_dir, plan);
    }
  }
  fs::create_directories(plan.out_dir, ec);
  CSG_CHECK(fs::is_directory(plan.out_dir), plan.out_dir, ": cannot create the run folder",
            ec ? " (" + ec.message() + ")" : std::string());
  return plan;
}

}  // namespace csg::train
