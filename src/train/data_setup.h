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

}  // namespace csg::train
