// src/cli/train_commands.cpp — `csg train visda|gta5`, `csg eval visda|gta5`, `csg hse` and
// `csg make-tiny`: flags declared onto a train::Config, then src/train/ does the work.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/data/datasets.h"
#include "csg/data/tiny.h"
#include "csg/distributed.h"
#include "csg/io/checkpoint.h"
#include "csg/method/regularizers.h"
#include "csg/train.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"
#include "src/figures/hse_figure.h"
#include "src/train/data_setup.h"
#include "src/train/imagenet_weights.h"
#include "src/train/settings.h"
#include "src/train/stop_signals.h"

namespace csg::cli {

namespace {

using train::Task;

// Puts the options declared since `before` into a help section.
void group_since(CLI::App* c, size_t before, const std::string& name) {
  std::vector<CLI::Option*> all = c->get_options();
  for (size_t i = before; i < all.size(); ++i) all[i]->group(name);
}

// A Config plus the flags that are not one field of it.
struct TrainFlags {
  train::Config cfg;
  std::string layers = "3,4";
  bool no_csg = false, no_augment = false, no_eval = false, no_flip_tta = false, no_tf32 = false;
  std::string checkpoint;
  int64_t max_images = 2000;
};

// The flags that choose the network (shared by train, eval and hse).
void add_network_flags(CLI::App* c, TrainFlags& f, Task task) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  add_choice(c, "--arch", g.arch, "backbone: ResNet (VisDA) or DeepLabv2 on a dilated ResNet (GTA5)",
             train::kArchNames, train::arch_names(task));
  c->add_option("--weights", g.weights,
                "ImageNet weights for f_e and the frozen f_eo: any model file csg predict reads (a torchvision .pth "
                "or .safetensors, whose torchvision file name's checksum is checked; a csg train checkpoint; a csg "
                "export file); by default torchvision's V1 file for --arch's ResNet in data/weights/ "
                "(resnet101-63fe2227.pth, ...), or none where a --checkpoint holds the network; none: random "
                "initialisation")
      ->default_str("data/weights/<torchvision file>");
  c->add_option("--width", g.width, "planes of layer1 (64 = torchvision; smaller for quick runs)")
      ->check(CLI::PositiveNumber);
  if (task == Task::Visda)
    add_choice(c, "--stem", g.stem,
               "layers before layer1: imagenet (7x7/2 conv + max pool), small (3x3/1 conv + max pool) or cifar "
               "(3x3/1 conv, no pool); --weights must have the same",
               models::kStemNames);
  c->add_option("--num-classes", g.num_classes, "classes of the task head (VisDA 12, Cityscapes 19)")
      ->check(CLI::PositiveNumber);
  if (task == Task::Gta5)
    add_choice(c, "--seg-head", g.seg_head,
               "segmentation head: the reference's ASPP (aspp-csg) or DeepLabv2's summed dilated convs (aspp-v2)",
               models::kDeepLabHeadNames);
  c->add_option("--layers", f.layers, "layer groups of the multi-layer InfoNCE (paper Table 3), e.g. 4, 3,4 or 1,2,3,4")
      ->check(layers_validator());
  add_choice(c, "--pool", g.apool, "pooling before the projection heads: A-pool or global average (Table 4)",
             train::kPoolNames);
  c->add_option("--embed-dim", g.embed_dim, "output size of the projection heads")->check(CLI::PositiveNumber);
  group_since(c, before, "Network");
}

// The data flags of a task (training reads its train split; eval/hse only the target).
void add_data_flags(CLI::App* c, TrainFlags& f, Task task, bool training) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  const data::DatasetKind kind = task == Task::Visda ? data::DatasetKind::Visda
                                 : training          ? data::DatasetKind::Gta5
                                                     : data::DatasetKind::Cityscapes;
  g.data = data::default_data_dir(kind);
  c->add_option("--data", g.data,
                task == Task::Visda ? "VisDA-17 root (train/ and validation/, each with image_list.txt; docs/datasets.md)"
                : training          ? "GTA5 root (images/, labels/; docs/datasets.md)"
                                    : "Cityscapes root (leftImg8bit/, gtFine/; docs/datasets.md)");
  if (task == Task::Gta5 && training) {
    g.val_data = data::default_data_dir(data::DatasetKind::Cityscapes);
    c->add_option("--val-data", g.val_data, "Cityscapes root for the final evaluation (leftImg8bit/, gtFine/)");
  }
  if (task == Task::Visda) {
    if (training) c->add_option("--train-split", g.train_split, "folder of the synthetic training images under --data");
    c->add_option("--val-split", g.val_split, "folder of the real target images under --data");
    c->add_option("--image-size", g.image_size, "VisDA: resize the shorter side to this, then crop this square")
        ->check(CLI::PositiveNumber);
  }
  if (task == Task::Gta5 && training) {
    c->add_option("--train-list", g.train_list,
                  "text file of the images to train on, one name per line relative to images/ (the official "
                  "12,403-image train split the reference uses; empty: every image)");
    c->add_option("--crop", g.crop, "GTA5: square training crop (pixels)")->check(CLI::PositiveNumber);
  }
  c->add_option("--workers", g.workers, "data loader threads (the data of a step does not depend on it)")
      ->check(CLI::NonNegativeNumber);
  if (training)
    add_choice(c, "--data-check", g.data_check,
               "before the first step, csg check-data's fast pass (lists, files, image headers): auto stops on "
               "problems in a set of under 1,000 samples and warns in a larger one; stop: any problem stops; "
               "warn: none does; off: no check",
               train::kDataCheckNames);
  add_max_image_pixels_flag(c, g.max_image_pixels);
  c->add_option("--batch-size", g.batch_size,
                training ? "images per step; under mpirun the global batch, split evenly over the processes"
                         : "images per evaluation batch (VisDA; Cityscapes: 1 per process)")
      ->check(CLI::PositiveNumber);
  add_device_option(c, g.device);
  c->add_flag("--no-tf32", f.no_tf32,
              "CUDA: full float32 for reproduction runs (TF32 off in cuBLAS and cuDNN convolutions); changes nothing "
              "on the CPU");
  c->add_flag("--quiet", g.quiet, "no progress output");
  group_since(c, before, "Data");
}

// Table 1's baselines: task loss + weight x one regularizer towards the ImageNet model, no InfoNCE.
void add_regularizer_flags(CLI::App* c, TrainFlags& f) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  add_choice(c, "--regularizer", g.regularizer,
             "a Table 1 baseline instead of CSG (implies --no-csg): task loss + weight x this term. weight-l2: "
             "sum ||w - w0||^2 over f_e's backbone; feature-l2: ||pooled layer4 of f_e - of f_eo||^2; "
             "synaptic-intelligence: sum Omega (w - w0)^2, Omega from the online path integral; asg-kl: ASG's "
             "KL between the ImageNet classifier on f_eo and on f_e",
             method::kRegularizerNames);
  c->add_option("--reg-weight", g.reg_weight,
                "weight of --regularizer (default 0.1 for each; asg-kl's is ASG's --lwf 0.1)")
      ->default_str("0.1")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--si-damping", g.si_damping, "synaptic-intelligence: xi in Omega = omega / ((w - w0)^2 + xi)")
      ->check(CLI::PositiveNumber);
  group_since(c, before, "Table 1 baselines");
}

void add_method_flags(CLI::App* c, TrainFlags& f, Task task) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  c->add_flag("--no-csg", f.no_csg, "the vanilla baseline: task loss only");
  c->add_option("--lambda", g.lambda, "weight of the contrastive loss")->check(CLI::NonNegativeNumber);
  c->add_option("--temperature", g.temperature, "InfoNCE temperature")->check(CLI::PositiveNumber);
  c->add_option("--queue-size", g.queue_size, "negatives per layer (the queue of keys)")->check(CLI::PositiveNumber);
  c->add_option("--ema", g.ema_momentum, "EMA momentum of the key heads")->check(CLI::Range(0.0, 1.0));
  if (task == Task::Gta5) {
    c->add_option("--chunks", g.chunks, "dense InfoNCE: the feature map is pooled into chunks x chunks patches")
        ->check(CLI::PositiveNumber);
    c->add_flag("--train-seg-heads", g.train_seg_heads,
                "optimise the projection heads; the reference never does (their fixed random weights are part of "
                "its published numbers), so they stay frozen by default");
  }
  c->add_flag("--no-augment", f.no_augment, "no augmentation: the key view is the query view");
  c->add_option("--randaug-m", g.randaug_m, "RandAugment magnitude M (paper Table 2)")->check(CLI::Range(0.0, 30.0));
  c->add_option("--randaug-n", g.randaug_n, "RandAugment operations per image N")->check(CLI::NonNegativeNumber);
  if (task == Task::Visda)
    add_choice(c, "--randaug-geometry", g.randaug_geometry,
               "RandAugment's translations: absolute pixels (the reference's) or relative: its pixels at 224 px "
               "scaled to the image",
               train::kRandAugmentGeometryNames);
  group_since(c, before, "CSG");
  add_regularizer_flags(c, f);
}

void add_optimisation_flags(CLI::App* c, TrainFlags& f) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  c->add_option("--lr", g.lr, "learning rate of the heads; the backbone gets lr x factor")->check(CLI::PositiveNumber);
  c->add_option("--factor", g.factor, "backbone learning-rate factor")->check(CLI::NonNegativeNumber);
  c->add_option("--momentum", g.momentum, "SGD momentum")->check(CLI::Range(0.0, 1.0));
  c->add_option("--weight-decay", g.weight_decay, "SGD weight decay")->check(CLI::NonNegativeNumber);
  c->add_flag("--torch-sgd", g.torch_sgd, "torch.optim.SGD's update instead of the reference's (lr in the momentum)");
  c->add_option("--epochs", g.epochs, "training epochs")->check(CLI::PositiveNumber);
  c->add_option("--iters-per-epoch", g.iters_per_epoch, "steps per epoch (0: data set size / batch; GTA5: 2000)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--max-steps", g.max_steps, "stop after this many steps (0: epochs x steps per epoch)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--warmup", g.warmup, "steps of quadratic learning-rate warm-up before poly(0.9)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--seed", g.seed, "seed of initialisation, data order and augmentation");
  c->add_flag("--deterministic", g.deterministic,
              "bit-identical runs: on CUDA deterministic cuDNN algorithms only, gather-based upsample backward, "
              "slower; on the CPU, --precision bf16's convolutions on fixed kernels (fp32 is deterministic anyway)");
  add_choice(c, "--precision", g.precision,
             "bf16: BF16 mixed precision of the convolutions (CPU: oneDNN, AVX512_BF16 or AMX; CUDA: cuDNN, "
             "compute capability 8.0+), f32 master weights, BN, GEMMs and losses",
             train::kPrecisionNames);
  group_since(c, before, "Optimisation");
}

void add_run_folder_flags(CLI::App* c, TrainFlags& f) {
  const size_t before = c->get_options().size();
  train::Config& g = f.cfg;
  c->add_option("--out", g.out_dir,
                "run folder (default: a new runs/<task>-<date>-<time>); one that holds another run is refused");
  c->add_flag("--overwrite", g.overwrite, "empty --out of an earlier run's files first (lists what it removes)");
  c->add_option("--resume", g.resume,
                "continue a run: latest (newest checkpoint in --out, or of the newest runs/<task>-* folder), a run "
                "folder, or a checkpoint");
  std::vector<std::string> keys;  // the settings a resume may compare (flip-tta: with --eval-every)
  for (const train::SettingDef& s : train::setting_table())
    if (s.resume != train::OnResume::Recorded) keys.push_back(s.key);
  c->add_option("--allow-change", g.allow_change,
                "settings a --resume may change, by flag name, comma-separated (e.g. lr,epochs); any other change "
                "to what the run computes is refused")
      ->delimiter(',')
      ->type_name("KEY,...")
      ->check(CLI::IsMember(keys).description(""));
  c->add_option("--log-every", g.log_every, "steps per progress line and log.csv row")->check(CLI::PositiveNumber);
  c->add_option("--checkpoint-every", g.checkpoint_every, "steps between checkpoints (<out>/csg-<step>.ckpt)")
      ->check(CLI::PositiveNumber);
  c->add_option("--keep-checkpoints", g.keep_checkpoints, "checkpoints of this run to keep (older ones are deleted)")
      ->check(CLI::PositiveNumber);
  c->add_flag("--no-eval", f.no_eval, "skip the evaluation on the target domain at the end (not with --eval-every)");
  c->add_option("--eval-every", g.eval_every,
                "evaluate on the target split every N epochs and keep <out>/best.ckpt (0: only at the end); best is "
                "chosen on the target split, so it is not a zero-shot figure; the last epoch's is reported too")
      ->check(CLI::NonNegativeNumber);
  group_since(c, before, "Run folder");
}

// VisDA's evaluation view (train and eval; hse measures features, not scores).
void add_flip_flag(CLI::App* c, TrainFlags& f, Task task) {
  if (task != Task::Visda) return;
  c->add_flag("--no-flip-tta", f.no_flip_tta,
              "evaluate f(x) alone; by default the scores are (sigmoid(f(x)) + sigmoid(f(flip_w(x)))) / 2 as the "
              "reference validates VisDA (horizontal-flip test-time augmentation)")
      ->group("Data");
}

// Applies the flags that are not a Config field, and checks what CLI11's validators cannot.
train::Config finish(const TrainFlags& f, bool training) {
  train::Config c = f.cfg;
  c.layers = train::parse_layers(f.layers);
  c.csg = !f.no_csg && c.regularizer == method::Regularizer::None;  // a regularizer baseline trains without InfoNCE
  c.augment = !f.no_augment;
  c.eval_at_end = !f.no_eval;
  c.flip_tta = !f.no_flip_tta;
  c.tf32 = !f.no_tf32;
  if (training)  // VisDA has no --chunks: one key per image
    CSG_CHECK(c.queue_size >= c.batch_size * c.chunks * c.chunks, "--queue-size ", c.queue_size,
              " must hold at least one step's keys (",
              c.task == Task::Gta5 ? "--batch-size x --chunks^2 = " : "--batch-size = ",
              c.batch_size * c.chunks * c.chunks, ")");
  return c;
}

// The network flags given on the command line (eval/hse take the rest from the checkpoint).
std::vector<std::string> given_network_flags(CLI::App* c) {
  std::vector<std::string> given;
  for (const std::string& key : train::network_setting_keys()) {  // "csg" has no flag: never given
    const CLI::Option* o = c->get_option_no_throw("--" + key);
    if (o != nullptr && o->count() > 0) given.push_back(key);
  }
  return given;
}

// --weights of eval and hse: a checkpoint holds the network, so without the flag none is read;
// without a checkpoint the ImageNet model is the one measured, found as training finds it.
std::string weights_for_evaluation(const train::Config& cfg, const std::string& checkpoint) {
  if (!checkpoint.empty() && cfg.weights.empty()) return "";
  return train::resolve_weights(cfg.weights, cfg.arch, cfg.width);
}

train::Config with_checkpoint(train::Config c, const std::string& checkpoint, CLI::App* cmd) {
  if (checkpoint.empty()) return c;
  return train::with_checkpoint_network_settings(c, load_checkpoint_meta(checkpoint), checkpoint,
                                                 given_network_flags(cmd));
}

void add_train_task(CLI::App* train, Task task, Invocation& inv) {
  auto f = std::make_shared<TrainFlags>();
  f->cfg = train::default_config(task);
  CLI::App* c = train->add_subcommand(
      train::task_name(task), task == Task::Visda
                           ? "train on VisDA-17's synthetic images, evaluate on its real ones (mean class accuracy)"
                           : "train DeepLabv2 on GTA5, evaluate on Cityscapes val (mIoU)");
  add_data_flags(c, *f, task, /*training=*/true);
  add_flip_flag(c, *f, task);
  add_network_flags(c, *f, task);
  add_method_flags(c, *f, task);
  add_optimisation_flags(c, *f);
  add_run_folder_flags(c, *f);
  c->callback([f, task, &inv] {
    inv.action = [f, task, &inv] {
      train::Config cfg = finish(*f, /*training=*/true);
      cfg.command_line = inv.command_line;
      // What is missing is named in this order: the data, the ImageNet weights, a usable device.
      train::require_data_roots(cfg, /*need_train=*/true, /*need_val=*/cfg.eval_at_end || cfg.eval_every > 0);
      cfg.weights = train::resolve_weights(cfg.weights, cfg.arch, cfg.width);
      cfg.device = resolve_device_flag(cfg.device);
      train::TrainSummary s = train::run_training(cfg);
      if (s.interrupted) return train::exit_status_for_signal(s.stop_signal);  // 130 SIGINT, 143 SIGTERM
      if (dist::world().rank() != 0) return 0;  // under mpirun rank 0 reports for all
      std::printf("trained %lld steps: loss %.4f -> %.4f, task loss %.4f -> %.4f (first and last logged window)\n",
                  static_cast<long long>(s.steps), s.first_loss, s.last_loss, s.first_task_loss, s.last_task_loss);
      const char* metric = task == Task::Visda ? "mean class accuracy" : "mIoU";
      if (s.metric >= 0) std::printf("target-domain %s (last weights): %.2f\n", metric, s.metric);
      if (s.best_step >= 0)
        std::printf("best target-domain %s: %.2f at step %lld (%s); chosen on the target split, so not a "
                    "zero-shot figure\n",
                    metric, s.best_metric, static_cast<long long>(s.best_step), s.best_checkpoint.c_str());
      std::printf("run folder: %s\n", s.out_dir.c_str());
      return 0;
    };
  });
}

void add_eval_task(CLI::App* eval, Task task, Invocation& inv) {
  auto f = std::make_shared<TrainFlags>();
  f->cfg = train::default_config(task);
  CLI::App* c = eval->add_subcommand(train::task_name(task), task == Task::Visda
                                                          ? "the per-class accuracy table on VisDA-17's real images"
                                                          : "the per-class IoU table on Cityscapes val");
  add_data_flags(c, *f, task, /*training=*/false);
  add_flip_flag(c, *f, task);
  c->add_option("--checkpoint", f->checkpoint,
                "a checkpoint of csg train (its recorded network settings are used; empty: --weights alone)");
  add_network_flags(c, *f, task);
  c->callback([f, task, c, &inv] {
    inv.action = [f, task, c] {
      train::Config cfg = with_checkpoint(finish(*f, false), f->checkpoint, c);
      if (task == Task::Gta5) cfg.val_data = cfg.data;  // eval reads Cityscapes only
      train::require_data_roots(cfg, /*need_train=*/false, /*need_val=*/true);
      cfg.weights = weights_for_evaluation(cfg, f->checkpoint);
      cfg.device = resolve_device_flag(cfg.device);
      const double m = train::run_evaluation(cfg, f->checkpoint);
      if (dist::world().rank() == 0)
        std::printf("%s: %.2f\n", task == Task::Visda ? "mean class accuracy" : "mIoU", m);
      return 0;
    };
  });
}

void add_hse_command(CLI::App& root, Invocation& inv) {
  auto f = std::make_shared<TrainFlags>();
  f->cfg = train::default_config(Task::Visda);
  auto checkpoints = std::make_shared<std::vector<std::string>>();
  auto figure = std::make_shared<std::string>();
  CLI::App* c = root.add_subcommand(
      "hse", "hyperspherical energy (s = 0, 1, 2) of pooled layer4 features of VisDA's real images (paper Table 1)");
  add_data_flags(c, *f, Task::Visda, /*training=*/false);
  c->add_option("--checkpoint", *checkpoints,
                "checkpoints of csg train, each measured (and one panel of --figure); none: the --weights model");
  add_network_flags(c, *f, Task::Visda);
  c->add_option("--max-images", f->max_images, "images to measure (0: all)")->check(CLI::NonNegativeNumber);
  c->add_option("--figure", *figure,
                "also draw the features on the sphere (paper Figures 2 and 6): this PNG (KDE, one panel per model) "
                "and <stem>_classes.png (by class)");
  c->callback([f, c, checkpoints, figure, &inv] {
    inv.action = [f, c, checkpoints, figure] {
      train::require_data_roots(f->cfg, /*need_train=*/false, /*need_val=*/true);
      f->cfg.device = resolve_device_flag(f->cfg.device);
      std::vector<figures::HseModel> models;
      if (checkpoints->empty()) models.push_back({finish(*f, false), ""});
      for (const std::string& ck : *checkpoints) models.push_back({with_checkpoint(finish(*f, false), ck, c), ck});
      for (figures::HseModel& m : models) m.cfg.weights = weights_for_evaluation(m.cfg, m.checkpoint);
      for (const figures::HseResult& r : figures::run_hse_models(models, f->max_images, *figure))
        std::printf("%shyperspherical energy of pooled layer4 features: E0 %.4f  E1 %.4f  E2 %.4f\n",
                    models.size() > 1 ? (r.title + ": ").c_str() : "", r.e0, r.e1, r.e2);
      if (!figure->empty())
        std::printf("wrote %s and %s\n", figure->c_str(), figures::classes_figure_path(*figure).c_str());
      return 0;
    };
  });
}

void add_make_tiny_command(CLI::App& root, Invocation& inv) {
  auto kind = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  CLI::App* c = root.add_subcommand("make-tiny", "write a few dozen generated images in a data set's published layout");
  c->add_option("kind", *kind, "visda or gta5 (GTA5 + Cityscapes)")->required()->check(CLI::IsMember({"visda", "gta5"}));
  c->add_option("dir", *dir, "output folder")->required();
  c->callback([kind, dir, &inv] {
    inv.action = [kind, dir] {
      if (*kind == "visda")
        data::write_tiny_visda(*dir, 0);
      else
        data::write_tiny_gta5_cityscapes(*dir, 0);
      std::printf("wrote a tiny %s data set to %s\n", kind->c_str(), dir->c_str());
      return 0;
    };
  });
}

}  // namespace

void add_train_commands(CLI::App& root, Invocation& inv) {
  CLI::App* train = root.add_subcommand("train", "train CSG (or the baseline): visda, gta5, or digits (the embedded benchmark)");
  train->require_subcommand(1);
  add_train_task(train, Task::Visda, inv);
  add_train_task(train, Task::Gta5, inv);
  add_digits_command(*train, inv);
  CLI::App* eval = root.add_subcommand("eval", "evaluate a checkpoint on the target domain: visda or gta5");
  eval->require_subcommand(1);
  add_eval_task(eval, Task::Visda, inv);
  add_eval_task(eval, Task::Gta5, inv);
  add_hse_command(root, inv);
  add_make_tiny_command(root, inv);
}

}  // namespace csg::cli
