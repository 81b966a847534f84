// src/cli/pretrain.cpp — `csg pretrain fashion|fashion+uci`: the embedded benchmark's real-image prior
// (a small ResNet trained on Fashion-MNIST, or on Fashion-MNIST plus the UCI handwritten digits),
// cached under data/ so `csg train digits --prior <kind>` reuses it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "src/cli/app.h"
#include "src/cli/flags.h"
#include "src/digits/pretrain.h"

namespace csg::cli {

namespace {
struct PretrainFlags {
  train::PretrainConfig cfg = train::digits_prior_config(train::DigitsConfig{});
  std::string dir = "data/generated", out;
  bool force = false;
};
}  // namespace

void add_pretrain_command(CLI::App& root, Invocation& inv) {
  CLI::App* pretrain =
      root.add_subcommand("pretrain", "pretrain a real-image prior for the digits benchmark: fashion or fashion+uci");
  pretrain->require_subcommand(1);
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"fashion", "a small ResNet trained on Fashion-MNIST (the ImageNet stand-in), cached under --dir"},
      {"fashion+uci",
       "a small ResNet trained on Fashion-MNIST plus the UCI handwritten digits (20 classes), cached under --dir"}};
  for (const auto& [kind, description] : kinds) {
    auto f = std::make_shared<PretrainFlags>();
    train::PretrainConfig& g = f->cfg;
    g.kind = kind;
    CLI::App* c = pretrain->add_subcommand(kind, description);
    c->add_option("--dir", f->dir, "cache folder; the file name holds every setting that changes the weights");
    c->add_option("--out", f->out, "write the weights here instead of the cache name");
    c->add_flag("--force", f->force, "retrain even when the cached prior exists");
    c->add_option("--arch", g.arch, "backbone")->check(CLI::IsMember(kClassifierArchs));
    c->add_option("--width", g.width, "planes of layer1")->check(CLI::PositiveNumber);
    c->add_option("--image-size", g.image_size, "input size (the 28x28 images are padded)")->check(CLI::PositiveNumber);
    c->add_option("--epochs", g.epochs, "epochs")->check(CLI::PositiveNumber);
    c->add_option("--images", g.images_per_epoch,
                  kind == "fashion" ? "images per epoch (0: all 60,000)"
                                    : "images per epoch (0: all 60,000 + the oversampled UCI digits)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--batch-size", g.batch_size, "images per step")->check(CLI::PositiveNumber);
    c->add_option("--lr", g.lr, "learning rate")->check(CLI::PositiveNumber);
    c->add_option("--seed", g.seed, "seed");
    add_device_option(c, g.device);
    c->add_option("--workers", g.workers, "data loader threads")->check(CLI::NonNegativeNumber);
    c->add_option("--fashion-dir", g.fashion_dir,
                  "Fashion-MNIST idx files (default: Debian's dataset-fashion-mnist)");
    if (kind == "fashion+uci")
      c->add_option("--uci-digits", g.uci_path, "UCI digits.csv.gz (default: python3-sklearn's copy)");
    c->add_flag("--quiet", g.quiet, "no progress output");
    c->callback([f, &inv] {
      inv.action = [f] {
        train::PretrainConfig cfg = f->cfg;
        cfg.device = resolve_device_flag(cfg.device);
        cfg.out_path = f->out.empty() ? train::prior_cache_path(f->dir, cfg) : f->out;
        if (std::filesystem::exists(cfg.out_path) && !f->force) {
          std::printf("prior already cached: %s (--force retrains it)\n", cfg.out_path.c_str());
          return 0;
        }
        const std::filesystem::path parent = std::filesystem::path(cfg.out_path).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent);
        train::PretrainResult r = train::pretrain_prior(cfg);
        for (const auto& [split, acc] : r.test_accuracies) std::printf("prior: %.2f%% on %s\n", acc, split.c_str());
        std::printf("prior -> %s\n", r.path.c_str());
        return 0;
      };
    });
  }
}

}  // namespace csg::cli
