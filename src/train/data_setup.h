// src/train/data_setup.h — which data sets and per-sample pipelines a task trains and evaluates on.
#pragma once
#include <memory>

#include "csg/data/datasets.h"
#include "csg/data/loader.h"
#include "csg/train.h"

namespace csg::train {

struct TaskData {
  std::shared_ptr<const data::Dataset> train, val;  // synthetic source / real target
  data::Transform train_transform;                  // two views (query, key) + label
  data::Transform val_transform;                    // one view, no randomness
};

TaskData open_task_data(const Config& cfg, bool need_train, bool need_val);

// The data folders a command reads exist, or a csg::Error with what the missing data set is,
// where it is published and the layout expected (data::require_dataset_root); checked first, so
// a command without its data says so before anything else.
void require_data_roots(const Config& cfg, bool need_train, bool need_val);

}  // namespace csg::train
