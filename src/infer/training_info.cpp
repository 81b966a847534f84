// src/infer/training_info.cpp — the ModelInfo of a training configuration.
#include "src/infer/training_info.h"

namespace csg::infer {

ModelInfo training_model_info(const train::Config& cfg) {
  ModelInfo m;
  m.arch = train::name_of(cfg.arch);
  m.num_classes = cfg.num_classes;
  if (cfg.task == train::Task::Visda) {
    m.width = cfg.width;
    m.stem = models::name_of(cfg.stem);
    m.head = "mlp";  // src/train/network.h ClassifierHead
    m.resize = m.crop = cfg.image_size;
  } else {
    m.width = 64;  // DeepLab is built at torchvision's width
    m.head = models::name_of(cfg.seg_head);
    m.resize = m.crop = 1;  // unused: Cityscapes is evaluated at its own size
  }
  m.class_names = cfg.class_names.empty() ? default_class_names(m.task(), m.num_classes) : cfg.class_names;
  return m;
}

}  // namespace csg::infer
