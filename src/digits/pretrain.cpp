// src/digits/pretrain.cpp — the real-image prior of the embedded benchmark: a small ResNet
// trained with labels on real images (the MNIST digits the task never scores, Fashion-MNIST's
// photographs of products, or both: src/digits/prior_data.cpp), standing in for the ImageNet
// pretraining that CSG starts from. Saved as a safetensors state dict with torchvision's names
// (and the stem in its metadata), so `--weights prior.safetensors` loads it like an ImageNet .pth.
#include "src/digits/pretrain.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "csg/augment.h"
#include "csg/autograd.h"
#include "csg/digits/data.h"
#include "csg/data/loader.h"
#include "csg/io/safetensors.h"
#include "csg/metrics.h"
#include "csg/models/resnet.h"
#include "csg/optim.h"
#include "csg/progress.h"
#include "src/train/state.h"

namespace csg::train {

namespace {

// Grey product photo -> the normalised 3-channel tensor every model here takes.
data::Transform prior_transform(int size) {
  return [size](data::Sample& s, Generator&) {
    data::Item item;
    item.views = {image::to_tensor(s.image.width == size ? s.image : image::resize_bilinear(s.image, size, size))};
    item.label = s.label;
    return item;
  };
}

}  // namespace

PretrainResult pretrain_prior(const PretrainConfig& cfg) {
  const Device dev = parse_device(cfg.device);
  const data::PriorSets sets =
      data::open_prior_sets(cfg.kind, {cfg.fashion_dir, cfg.mnist_package, cfg.uci_path}, cfg.image_size);
  const std::shared_ptr<const data::Dataset>& train_set = sets.train;
  if (!cfg.quiet)
    std::fprintf(stderr, "  prior %s: %lld images (%lld real digits 0-4, %lld Fashion-MNIST photos), %d classes\n",
                 cfg.kind.c_str(), static_cast<long long>(train_set->size()), static_cast<long long>(sets.digits),
                 static_cast<long long>(sets.fashion), sets.num_classes);
  models::ResNetOptions mo;
  CSG_CHECK(!is_deeplab(cfg.arch), "the prior is a ResNet classifier, not ", name_of(cfg.arch));
  mo.depth = depth_of(cfg.arch);
  mo.width = cfg.width;
  mo.stem = cfg.stem;
  mo.num_classes = sets.num_classes;
  mo.seed = cfg.seed;
  models::ResNet model(mo);
  model.to(dev);
  model.train(true);  // batch statistics: the prior's BN running stats are learned here
  optim::SGD sgd({{"all", model.parameters(), cfg.lr}}, 0.9, 5e-4, optim::SgdVariant::Torch);

  data::LoaderOptions lo;
  lo.batch_size = cfg.batch_size;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.num_workers = cfg.workers;
  lo.seed = cfg.seed;
  lo.epoch_size = cfg.images_per_epoch > 0 ? std::min<int64_t>(cfg.images_per_epoch, train_set->size()) : 0;
  data::DataLoader loader(train_set, prior_transform(cfg.image_size), lo);
  const int64_t steps = cfg.epochs * loader.batches_per_epoch();
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  double window_loss = 0;
  for (int64_t e = 0; e < cfg.epochs; ++e) {
    loader.start_epoch(e);
    while (auto batch = loader.next()) {
      Tensor loss = cross_entropy(model.forward(batch->views[0].to(dev)), batch->labels.to(dev));
      sgd.zero_grad();
      loss.backward();
      sgd.step(optim::warmup_poly_lr_scale(step, steps, 50));
      window_loss += loss.item();
      if (++step % 50 == 0 || step == steps) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!cfg.quiet)
          std::fprintf(stderr, "  prior: step %lld/%lld | loss %.4f | %.0f img/s | ETA %s\n",
                       static_cast<long long>(step), static_cast<long long>(steps), window_loss / (step % 50 ? step % 50 : 50),
                       step * cfg.batch_size / s, format_seconds(s / step * (steps - step)).c_str());
        window_loss = 0;
      }
    }
  }
  // Accuracy on each test split (Fashion-MNIST; held-out UCI digits): is the prior any good at
  // real images, and at real handwriting?
  PretrainResult r;
  {
    NoGradGuard ng;
    model.eval();
    data::LoaderOptions eo;
    eo.batch_size = 256;
    eo.num_workers = cfg.workers;
    for (const auto& [name, test_set] : sets.tests) {
      data::DataLoader eval(test_set, prior_transform(cfg.image_size), eo);
      eval.start_epoch(0);
      ClassAccuracy acc(sets.num_classes);
      while (auto batch = eval.next()) acc.add(model.forward(batch->views[0].to(dev)), batch->labels);
      r.test_accuracies.push_back({name, acc.overall_accuracy()});
    }
    r.test_accuracy = r.test_accuracies.front().second;
  }
  model.to(Device::CPU);
  std::map<std::string, std::string> meta = {{"what", "csg digits prior (" + cfg.kind + ")"},
                                             {"arch", name_of(cfg.arch)},
                                             {"width", std::to_string(cfg.width)},
                                             {"stem", name_of(cfg.stem)},
                                             {"classes", std::to_string(sets.num_classes)}};
  for (const auto& [name, acc] : r.test_accuracies) meta["accuracy " + name] = std::to_string(acc);
  save_safetensors(cfg.out_path, model.state_dict(), meta);
  r.path = cfg.out_path;
  return r;
}

PretrainConfig digits_prior_config(const DigitsConfig& dc) {
  PretrainConfig pc;
  pc.kind = dc.prior;
  pc.fashion_dir = dc.fashion_dir;
  pc.mnist_package = dc.mnist_package_dir;
  pc.uci_path = dc.uci_path;
  pc.arch = dc.arch;
  pc.width = dc.width;
  pc.stem = dc.stem;
  pc.epochs = dc.prior_epochs;
  pc.images_per_epoch = dc.prior_images;
  pc.workers = dc.workers;
  pc.device = dc.device;
  pc.quiet = dc.quiet;
  return pc;
}

std::string prior_cache_path(const std::string& dir, const PretrainConfig& cfg) {
  const std::string images = cfg.images_per_epoch > 0 ? std::to_string(cfg.images_per_epoch) : "all";
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", cfg.lr);
  const std::string name = "digits-prior-" + cfg.kind + "-" + name_of(cfg.arch) + "-w" + std::to_string(cfg.width) + "-" +
                           name_of(cfg.stem) + "-s" + std::to_string(cfg.image_size) + "-e" + std::to_string(cfg.epochs) + "x" + images + "-b" +
                           std::to_string(cfg.batch_size) + "-lr" + lr + "-seed" + std::to_string(cfg.seed) +
                           // CUDA rounds otherwise than the CPU: a prior trained there is never
                           // reused by a CPU run, whose tables stay reproducible.
                           (cfg.device == "cuda" ? "-cuda" : "") + ".safetensors";
  return (std::filesystem::path(dir) / name).string();
}

}  // namespace csg::train
