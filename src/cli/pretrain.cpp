// src/cli/pretrain.cpp — `csg pretrain fashion`: the embedded benchmark's real-image prior (a small
// ResNet trained on Fashion-MNIST), cached under data/ so `csg train digits` reuses it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "src/cli/app.h"
#include "src/cli/flags.h"
#include "src/train/pretrain.h"

namespace csg::cli {

namespace {
struct PretrainFlags {
  train::PretrainConfig cfg = train::digits_prior_config(train::DigitsConfig{});
  std::string dir = "data/generated", out;
  bool force = false;
};
}  // namespace

void add_pretrain_command(CLI::App& root, Invocation& inv) {
  CLI::App* pretrain = root.add_subcommand("pretrain", "pretrain a real-image prior for the digits benchmark: fashion");
  pretrain->require_subcommand(1);
  auto f = std::make_shared<PretrainFlags>();
  train::PretrainConfig& g = f->cfg;
  CLI::App* c = pretrain->add_subcommand(
      "fashion", "a small ResNet trained on Fashion-MNIST (the ImageNet stand-in), cached under --dir");
  c->add_option("--dir", f->dir, "cache folder; the file name holds every setting that changes the weights");
  c->add_option("--out", f->out, "write the weights here instead of the cache name");
  c->add_flag("--force", f->force, "retrain even when the cached prior exists");
  c->add_option("--arch", g.arch, "backbone")->check(CLI::IsMember(kClassifierArchs));
  c->add_option("--width", g.width, "planes of layer1")->check(CLI::PositiveNumber);
  c->add_option("--image-size", g.image_size, "input size (Fashion-MNIST's 28x28 is resized)")
      ->check(CLI::PositiveNumber);
  c->add_option("--epochs", g.epochs, "epochs")->check(CLI::PositiveNumber);
  c->add_option("--images", g.images_per_epoch, "images per epoch (0: all 60,000)")->check(CLI::NonNegativeNumber);
  c->add_option("--batch-size", g.batch_size, "images per step")->check(CLI::PositiveNumber);
  c->add_option("--lr", g.lr, "learning rate")->check(CLI::PositiveNumber);
  c->add_option("--seed", g.seed, "seed");
  c->add_option("--device", g.device, "where to compute")->check(CLI::IsMember(kDevices));
  c->add_option("--workers", g.workers, "data loader threads")->check(CLI::NonNegativeNumber);
  c->add_option("--fashion-dir", g.fashion_dir, "Fashion-MNIST idx files (default: Debian's dataset-fashion-mnist)");
  c->add_flag("--quiet", g.quiet, "no progress output");
  c->callback([f, &inv] {
    inv.action = [f] {
      train::PretrainConfig cfg = f->cfg;
      cfg.out_path = f->out.empty() ? train::prior_cache_path(f->dir, cfg) : f->out;
      if (std::filesystem::exists(cfg.out_path) && !f->force) {
        std::printf("prior already cached: %s (--force retrains it)\n", cfg.out_path.c_str());
        return 0;
      }
      const std::filesystem::path parent = std::filesystem::path(cfg.out_path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      train::PretrainResult r = train::pretrain_prior(cfg);
      std::printf("prior: %.2f%% on the Fashion-MNIST test split -> %s\n", r.test_accuracy, r.path.c_str());
      return 0;
    };
  });
}

}  // namespace csg::cli
