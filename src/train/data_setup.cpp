// src/train/data_setup.cpp — the data sets and per-sample pipelines of each task.
#include "src/train/data_setup.h"

#include "csg/augment.h"

namespace csg::train {

namespace {

data::Transform visda_train_transform(const Config& cfg) {
  augment::ClassificationTransform t;
  t.resize = t.crop = cfg.image_size;
  t.augment = cfg.augment;
  t.randaugment_n = cfg.randaug_n;
  t.randaugment_m = cfg.randaug_m;
  t.randaugment_translate_reference =
      cfg.randaug_geometry == RandAugmentGeometry::Relative ? augment::kRandAugmentReferenceSize : 0;
  return augment::classification_train_transform(t);
}

data::Transform gta5_train_transform(const Config& cfg) {
  augment::SegmentationTransform t;
  t.crop_width = t.crop_height = cfg.crop;
  t.key_view = cfg.augment;
  return augment::segmentation_train_transform(t);
}

// A data set with the run's limit on pixels per image.
template <class Set>
std::shared_ptr<const data::Dataset> limited(std::unique_ptr<Set> set, const Config& cfg) {
  set->set_max_pixels(cfg.max_image_pixels);
  return std::shared_ptr<const data::Dataset>(std::move(set));
}

}  // namespace

void require_data_roots(const Config& cfg, bool need_train, bool need_val) {
  if (cfg.task == Task::Visda) {
    if (need_train || need_val) data::require_dataset_root(data::DatasetKind::Visda, cfg.data);
    return;
  }
  if (need_train) data::require_dataset_root(data::DatasetKind::Gta5, cfg.data);
  if (need_val) data::require_dataset_root(data::DatasetKind::Cityscapes, cfg.val_data);
}

TaskData open_task_data(const Config& cfg, bool need_train, bool need_val) {
  TaskData d;
  if (cfg.task == Task::Visda) {
    if (need_train) d.train = limited(data::open_visda(cfg.data, cfg.train_split), cfg);
    if (need_val) d.val = limited(data::open_visda(cfg.data, cfg.val_split), cfg);
    d.train_transform = visda_train_transform(cfg);
    augment::ClassificationTransform eval;
    eval.resize = eval.crop = cfg.image_size;
    d.val_transform = augment::classification_eval_transform(eval);
  } else {
    if (need_train)
      d.train = limited(cfg.train_list.empty() ? data::open_gta5(cfg.data) : data::open_gta5(cfg.data, cfg.train_list),
                        cfg);
    if (need_val) {
      CSG_CHECK(!cfg.val_data.empty(), "the GTA5 task evaluates on Cityscapes: give --val-data CITYSCAPES_ROOT");
      d.val = limited(data::open_cityscapes(cfg.val_data, "val"), cfg);
    }
    d.train_transform = gta5_train_transform(cfg);
    d.val_transform = data::segmentation_eval_transform();
  }
  return d;
}

}  // namespace csg::train
