// src/cli/pretrain.cpp — `csg pretrain fashion`: the embedded benchmark's real-image prior (a small
// ResNet trained on Fashion-MNIST), cached under data/ so `csg train digits` reuses it.
#include <cstdio>
#include <filesystem>
#include <string>

#include "src/cli/args.h"
#include "src/train/pretrain.h"

namespace csg::cli {

int run_pretrain(int argc, char** argv) {
  CSG_CHECK(argc >= 1 && std::string(argv[0]) == "fashion",
            "pretrain: csg pretrain fashion [--dir data/generated] [--arch resnet18] [--width 16] [--epochs N] ...");
  Args a(argc - 1, argv + 1,
         {"--dir", "--out", "--arch", "--width", "--image-size", "--epochs", "--images", "--batch-size", "--lr", "--seed",
          "--device", "--workers", "--fashion-dir"},
         {"--force", "--quiet"});
  train::PretrainConfig c = train::digits_prior_config(train::DigitsConfig{});
  c.arch = a.get("--arch", c.arch);
  c.width = a.get_int("--width", c.width);
  c.image_size = static_cast<int>(a.get_int("--image-size", c.image_size));
  c.epochs = a.get_int("--epochs", c.epochs);
  c.images_per_epoch = a.get_int("--images", c.images_per_epoch);
  c.batch_size = a.get_int("--batch-size", c.batch_size);
  c.lr = a.get_double("--lr", c.lr);
  c.seed = static_cast<uint64_t>(a.get_int("--seed", static_cast<long long>(c.seed)));
  c.device = a.get("--device", c.device);
  c.workers = static_cast<int>(a.get_int("--workers", c.workers));
  c.fashion_dir = a.get("--fashion-dir", "");
  c.quiet = a.has("--quiet");
  CSG_CHECK(c.epochs >= 1 && c.batch_size >= 1 && c.width >= 1, "pretrain: --epochs, --batch-size and --width must be positive");
  c.out_path = a.get("--out", train::prior_cache_path(a.get("--dir", "data/generated"), c));
  if (std::filesystem::exists(c.out_path) && !a.has("--force")) {
    std::printf("prior already cached: %s (--force retrains it)\n", c.out_path.c_str());
    return 0;
  }
  const std::filesystem::path parent = std::filesystem::path(c.out_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  train::PretrainResult r = train::pretrain_prior(c);
  std::printf("prior: %.2f%% on the Fashion-MNIST test split -> %s\n", r.test_accuracy, r.path.c_str());
  return 0;
}

}  // namespace csg::cli
