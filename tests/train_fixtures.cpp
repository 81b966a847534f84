// tests/train_fixtures.cpp — the tiny training configurations and model file of tests/testing.h.
#include "tests/testing.h"

#include "csg/infer.h"
#include "csg/models/deeplab.h"

namespace csg::testing {

train::Config tiny_visda_config(const std::string& data, const std::string& out) {
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.out_dir = out;
  c.arch = train::Arch::ResNet18;
  c.width = 8;
  c.image_size = 32;
  c.batch_size = 8;
  c.queue_size = 64;
  c.embed_dim = 8;
  c.layers = {4};
  c.lr = 0.05;
  c.warmup = 0;
  c.workers = 0;
  c.log_every = 1;
  c.eval_at_end = false;
  c.quiet = true;
  return c;
}

train::Config tiny_gta5_config(const std::string& root, const std::string& out) {
  train::Config c = train::default_config(train::Task::Gta5);
  c.data = root + "/gta5";
  c.out_dir = out;
  c.arch = train::Arch::DeepLab18;
  c.width = 8;
  c.crop = 32;
  c.batch_size = 2;
  c.queue_size = 64;
  c.embed_dim = 8;
  c.chunks = 2;
  c.workers = 0;
  c.log_every = 1;
  c.eval_at_end = false;
  c.quiet = true;
  return c;
}

infer::ModelWeights write_tiny_segmentation_model(const std::string& path) {
  models::DeepLabOptions o;
  o.depth = 18, o.num_classes = 19, o.head = models::DeepLabHead::AsppV2;
  models::DeepLab net(o);
  infer::ModelWeights m;
  m.info.arch = "deeplab18", m.info.num_classes = 19, m.info.head = "aspp-v2";
  m.info.class_names = infer::default_class_names(infer::Task::Segmentation, 19);
  m.tensors = net.state_dict();
  infer::export_model(path, m);
  return m;
}

}  // namespace csg::testing
