// src/train/run_start.h — where a training run starts: a new run or the checkpoint it resumes, its
// folder and config.json, and the best-so-far record it carries on.
#pragma once
#include <cstdint>
#include <string>

#include "csg/train.h"
#include "src/train/best_checkpoint.h"
#include "src/train/data_parallel.h"

namespace csg::train {

struct RunStart {
  std::string run_id;       // one id for a run and all its resumes
  std::string resume_path;  // the checkpoint to continue from, or empty
  int64_t resume_step = 0;
  bool continuing = false;  // it resumes inside its own folder
};

// What the run continues, decided on rank 0 and told to every rank: resolves --resume (latest /
// folder / file) and checks the checkpoint's task and settings against cfg; resolves cfg.out_dir.
// Writes nothing: a start that fails later leaves no folder behind.
RunStart plan_run_on_root(dist::Communicator& comm, Config& cfg);

// Once the whole set-up has passed: prepares cfg.out_dir (a run that resumes elsewhere than its own
// folder starts a fresh one; a folder that holds another run is refused) and writes config.json
// there, on rank 0.
void open_run_folder_on_root(dist::Communicator& comm, Config& cfg, const RunStart& start);

// The best-so-far record of a resumed run: the checkpoint's, and that of the folder's best.ckpt
// when it belongs to the same run (it may be newer than the checkpoint resumed from).
void restore_best(BestCheckpoint& best, const std::string& resume_path, const std::string& run_id);

}  // namespace csg::train
