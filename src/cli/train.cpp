// src/cli/train.cpp — `csg train`, `csg eval`, `csg hse` and `csg make-tiny`: flags into a
// train::Config, then src/train/ does the work.
#include <cstdio>
#include <sstream>

#include "csg/data/tiny.h"
#include "csg/train.h"
#include "src/cli/args.h"

namespace csg::cli {

namespace {

const std::vector<std::string> kFlags = {
    "--data", "--val-data", "--weights", "--arch", "--num-classes", "--seg-head", "--image-size", "--crop",
    "--workers", "--layers", "--pool", "--lambda", "--temperature", "--queue-size", "--embed-dim", "--ema",
    "--chunks", "--randaug-m", "--randaug-n", "--lr", "--factor", "--momentum", "--weight-decay", "--batch-size",
    "--epochs", "--iters-per-epoch", "--max-steps", "--warmup", "--seed", "--device", "--out", "--log-every",
    "--checkpoint-every", "--keep-checkpoints", "--resume", "--checkpoint", "--max-images", "--width", "--train-split",
    "--val-split"};
const std::vector<std::string> kSwitches = {"--no-csg", "--no-augment", "--no-eval", "--torch-sgd",
                                            "--freeze-seg-heads", "--quiet"};

train::Task task_of(const std::string& name) {
  if (name == "visda") return train::Task::Visda;
  if (name == "gta5") return train::Task::Gta5;
  CSG_FAIL("unknown task '", name, "': expected visda or gta5");
}

std::vector<int> parse_layers(const std::string& s) {
  std::vector<int> layers;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    CSG_CHECK(item.size() == 1 && item[0] >= '1' && item[0] <= '4', "--layers ", s,
              ": expected stages 1..4 separated by commas, e.g. 3,4");
    layers.push_back(item[0] - '0');
  }
  CSG_CHECK(!layers.empty(), "--layers: empty");
  return layers;
}

train::Config config_from(const Args& a, train::Task task) {
  train::Config c = train::default_config(task);
  c.data = a.get("--data", c.data);
  CSG_CHECK(!c.data.empty(), "give the data set root with --data DIR");
  c.val_data = a.get("--val-data", c.val_data);
  c.weights = a.get("--weights", c.weights);
  c.arch = a.get("--arch", c.arch);
  c.width = a.get_int("--width", c.width);
  c.train_split = a.get("--train-split", c.train_split);
  c.val_split = a.get("--val-split", c.val_split);
  c.num_classes = a.get_int("--num-classes", c.num_classes);
  c.seg_head = a.get("--seg-head", c.seg_head);
  c.image_size = static_cast<int>(a.get_int("--image-size", c.image_size));
  c.crop = static_cast<int>(a.get_int("--crop", c.crop));
  c.workers = static_cast<int>(a.get_int("--workers", c.workers));
  if (a.has("--layers")) c.layers = parse_layers(a.get("--layers", ""));
  const std::string pool = a.get("--pool", "apool");
  CSG_CHECK(pool == "apool" || pool == "gap", "--pool ", pool, ": expected apool or gap");
  c.apool = pool == "apool";
  c.csg = !a.has("--no-csg");
  c.augment = !a.has("--no-augment");
  c.lambda = a.get_double("--lambda", c.lambda);
  c.temperature = a.get_double("--temperature", c.temperature);
  c.queue_size = a.get_int("--queue-size", c.queue_size);
  c.embed_dim = a.get_int("--embed-dim", c.embed_dim);
  c.ema_momentum = a.get_double("--ema", c.ema_momentum);
  c.chunks = a.get_int("--chunks", c.chunks);
  c.randaug_m = a.get_double("--randaug-m", c.randaug_m);
  c.randaug_n = static_cast<int>(a.get_int("--randaug-n", c.randaug_n));
  c.lr = a.get_double("--lr", c.lr);
  c.factor = a.get_double("--factor", c.factor);
  c.momentum = a.get_double("--momentum", c.momentum);
  c.weight_decay = a.get_double("--weight-decay", c.weight_decay);
  c.torch_sgd = a.has("--torch-sgd");
  c.batch_size = a.get_int("--batch-size", c.batch_size);
  c.epochs = a.get_int("--epochs", c.epochs);
  c.iters_per_epoch = a.get_int("--iters-per-epoch", c.iters_per_epoch);
  c.max_steps = a.get_int("--max-steps", c.max_steps);
  c.warmup = a.get_int("--warmup", c.warmup);
  c.seed = static_cast<uint64_t>(a.get_int("--seed", static_cast<long long>(c.seed)));
  c.device = a.get("--device", c.device);
  c.out_dir = a.get("--out", c.out_dir);
  c.log_every = a.get_int("--log-every", c.log_every);
  c.checkpoint_every = a.get_int("--checkpoint-every", c.checkpoint_every);
  c.keep_checkpoints = static_cast<int>(a.get_int("--keep-checkpoints", c.keep_checkpoints));
  c.resume = a.get("--resume", c.resume);
  c.eval_at_end = !a.has("--no-eval");
  c.train_seg_heads = !a.has("--freeze-seg-heads");
  c.quiet = a.has("--quiet");
  CSG_CHECK(c.batch_size > 0 && c.log_every > 0 && c.checkpoint_every > 0, "--batch-size, --log-every and ",
            "--checkpoint-every must be positive");
  CSG_CHECK(c.queue_size >= c.batch_size * c.chunks * c.chunks, "--queue-size ", c.queue_size,
            " must hold at least one step's keys (", c.batch_size * c.chunks * c.chunks, ")");
  return c;
}

}  // namespace

int run_digits(int argc, char** argv) {
  Args a(argc, argv,
         {"--dir", "--out", "--seeds", "--seed", "--width", "--train-count", "--test-count", "--prior-epochs",
          "--prior-images", "--epochs", "--batch-size", "--lr", "--lambda", "--randaug-m", "--layers", "--pool",
          "--queue-size", "--device", "--workers", "--fashion-dir", "--mnist-package"},
         {"--quiet"});
  train::DigitsConfig c;
  c.dir = a.get("--dir", c.dir);
  c.out_dir = a.get("--out", c.out_dir);
  c.seeds = static_cast<int>(a.get_int("--seeds", c.seeds));
  c.seed = static_cast<uint64_t>(a.get_int("--seed", 0));
  c.width = a.get_int("--width", c.width);
  c.train_count = a.get_int("--train-count", c.train_count);
  c.test_count = a.get_int("--test-count", c.test_count);
  c.prior_epochs = a.get_int("--prior-epochs", c.prior_epochs);
  c.prior_images = a.get_int("--prior-images", c.prior_images);
  c.epochs = a.get_int("--epochs", c.epochs);
  c.batch_size = a.get_int("--batch-size", c.batch_size);
  c.lr = a.get_double("--lr", c.lr);
  c.lambda = a.get_double("--lambda", c.lambda);
  c.randaug_m = a.get_double("--randaug-m", c.randaug_m);
  if (a.has("--layers")) c.layers = parse_layers(a.get("--layers", ""));
  c.apool = a.get("--pool", "apool") != "gap";
  c.queue_size = a.get_int("--queue-size", c.queue_size);
  c.device = a.get("--device", c.device);
  c.workers = static_cast<int>(a.get_int("--workers", c.workers));
  c.fashion_dir = a.get("--fashion-dir", "");
  c.mnist_package_dir = a.get("--mnist-package", "");
  c.quiet = a.has("--quiet");
  CSG_CHECK(c.seeds >= 1, "--seeds must be at least 1");
  train::run_digits(c);
  return 0;
}

int run_train(int argc, char** argv) {
  CSG_CHECK(argc >= 1, "train: give a task: csg train visda|gta5|digits [options]");
  if (std::string(argv[0]) == "digits") return run_digits(argc - 1, argv + 1);
  Args a(argc - 1, argv + 1, kFlags, kSwitches);
  train::TrainSummary s = train::run_training(config_from(a, task_of(argv[0])));
  if (s.interrupted) return 130;
  std::printf("trained %lld steps: loss %.4f -> %.4f, task loss %.4f -> %.4f (first and last logged window)\n",
              static_cast<long long>(s.steps), s.first_loss, s.last_loss, s.first_task_loss, s.last_task_loss);
  if (s.metric >= 0) std::printf("target-domain %s: %.2f\n", argv[0] == std::string("visda") ? "mean class accuracy" : "mIoU", s.metric);
  return 0;
}

int run_eval(int argc, char** argv) {
  CSG_CHECK(argc >= 1, "eval: give a task: csg eval visda|gta5 --data DIR --checkpoint C.ckpt");
  Args a(argc - 1, argv + 1, kFlags, kSwitches);
  train::Config c = config_from(a, task_of(argv[0]));
  if (c.task == train::Task::Gta5 && c.val_data.empty()) c.val_data = c.data;  // eval reads Cityscapes only
  double m = train::run_evaluation(c, a.get("--checkpoint", ""));
  std::printf("%s: %.2f\n", c.task == train::Task::Visda ? "mean class accuracy" : "mIoU", m);
  return 0;
}

int run_hse(int argc, char** argv) {
  Args a(argc, argv, kFlags, kSwitches);
  train::Config c = config_from(a, train::Task::Visda);
  std::vector<double> e = train::run_hse(c, a.get("--checkpoint", ""), a.get_int("--max-images", 2000));
  std::printf("hyperspherical energy of pooled layer4 features: E0 %.4f  E1 %.4f  E2 %.4f\n", e[0], e[1], e[2]);
  return 0;
}

int run_make_tiny(int argc, char** argv) {
  CSG_CHECK(argc == 2, "make-tiny: csg make-tiny visda|gta5 DIR");
  const std::string kind = argv[0], dir = argv[1];
  if (kind == "visda") {
    data::write_tiny_visda(dir, 0);
  } else if (kind == "gta5") {
    data::write_tiny_gta5_cityscapes(dir, 0);
  } else {
    CSG_FAIL("make-tiny: unknown data set '", kind, "': expected visda or gta5");
  }
  std::printf("wrote a tiny %s data set to %s\n", kind.c_str(), dir.c_str());
  return 0;
}

}  // namespace csg::cli
