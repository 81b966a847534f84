// src/train/run_folder.h — where a run writes, and the rules that keep one run from destroying
// another's files: a new run gets a new folder, a folder that holds files is refused unless the
// run continues it (--resume) or empties it first (--overwrite, saying what it removes).
#pragma once
#include <string>
#include <vector>

#include "csg/train.h"

namespace csg::train {

// "runs/<task>-<YYYYmmdd>-<HHMMSS>" under `root`, local time; "-2", "-3", ... when taken.
std::string new_run_folder_name(const std::string& root, const std::string& task);

// The checkpoint `resume` names: "latest" (the newest checkpoint in `out_dir`, or, when `out_dir`
// is empty, in the newest "<root>/<task>-*" folder that has one), a run folder (its newest
// checkpoint) or a checkpoint file. In a folder the newest checkpoint that reads whole and
// matches its checksums is taken: each newer, damaged one is skipped with a warning naming it
// (a checkpoint file named directly is never skipped: loading it reports the damage). Errors
// say what was looked for and where.
std::string resolve_resume(const std::string& resume, const std::string& out_dir, const std::string& root,
                           const std::string& task);

// Files a run writes: config*.json, log.csv, <prefix>-<step>.ckpt (and their temporary files),
// best.ckpt, events.out.tfevents.*, *.png, table.md; a sub-folder counts when everything in it does.
bool is_run_file(const std::string& path);

struct RunFolderPlan {
  std::string out_dir;
  std::vector<std::string> removed;  // what --overwrite deleted (paths)
};

// Makes `out_dir` ready for a run and returns it (resolved when empty). `continuing`: the run
// resumes a checkpoint inside this folder, which may then hold anything (temporary files of a
// writer that died are removed). Otherwise a folder that holds a run's results (a checkpoint or a
// result table, at any depth) is refused (the message lists some and names --resume / --overwrite
// / --out), unless `overwrite`, which deletes them after printing what it removes, and refuses
// when the folder holds files no run writes (it never deletes what it did not make). A folder of
// run files without any result (config.json of a start that failed, the log of a run killed before
// its first checkpoint) holds nothing to continue: its files are removed, saying so.
RunFolderPlan prepare_run_folder(const std::string& out_dir, const std::string& default_root, const std::string& task,
                                 bool continuing, bool overwrite);

}  // namespace csg::train
