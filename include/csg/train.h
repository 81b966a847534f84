// csg/train.h — training and evaluating CSG (and the vanilla baseline) on VisDA-17 and
// GTA5 -> Cityscapes. The defaults are the reference's (docs/paper-notes.md#visda-17-classification
// and docs/paper-notes.md#gta5-to-cityscapes-segmentation); every ablation of the paper is a field
// here and a flag of `csg train`.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "csg/image.h"
#include "csg/settings.h"
#include "csg/tensor.h"

namespace csg::train {

// Every setting of a run; the choices are the types of csg/settings.h. src/train/settings.cpp
// describes each field once (flag name, text, whether a resume compares it, whether it shapes the
// network) for config.json, checkpoints, the resume check and evaluation.
struct Config {
  Task task = Task::Visda;
  // ---- data ----
  std::string data;      // VisDA root (train/, validation/) or GTA5 root (images/, labels/)
  std::string val_data;  // GTA5 task: Cityscapes root (leftImg8bit/, gtFine/)
  std::string train_list;  // GTA5: image names of the split to train on (empty: every image)
  std::string train_split = "train", val_split = "validation";  // VisDA-layout split directories
  int image_size = 224;  // VisDA: resize shorter side to this, crop this square
  int crop = 512;        // GTA5: training crop
  int workers = 4;
  // Before the first step: the fast pass of `csg check-data` over the lists and image headers.
  // "auto": problems stop a set of under 1,000 samples and are a warning in a larger one;
  // "stop": any problem stops the run; "warn": none does; "off": no check. A list line the
  // loader cannot use (a label out of range) stops every run.
  DataCheck data_check = DataCheck::Auto;
  int64_t max_image_pixels = image::kDefaultMaxPixels;  // larger images are refused (csg/image.h)
  // ---- model ----
  Arch arch = Arch::ResNet101;  // ResNet (VisDA) or DeepLab (GTA5)
  std::string weights;             // ImageNet .pth (or .safetensors) for f_e and f_eo; empty = random init
  int64_t width = 64;              // ResNet planes of layer1 (64 = torchvision)
  // The layers before layer1 (csg/models/resnet.h Stem): ImageNet (torchvision's, the default;
  // the only one for GTA5), Small or Cifar for small images. --weights must have been trained
  // with the same stem.
  Stem stem = Stem::ImageNet;
  int64_t num_classes = 12;
  // The class names a checkpoint's exported model carries (empty: VisDA's for 12 classes, else
  // "0", "1", ...); not a flag: the digits benchmark names its classes by their digits.
  std::vector<std::string> class_names;
  SegHead seg_head = SegHead::AsppCsg;  // or AsppV2
  // ---- CSG (paper section 3) ----
  bool csg = true;                     // false: the vanilla baseline (task loss only)
  std::vector<int> layers = {3, 4};    // layer groups G
  bool apool = true;                   // A-pool, else global average pooling
  double lambda = 0.1;                 // weight of the contrastive loss (75 for GTA5)
  double temperature = 0.07;
  int64_t queue_size = 65536;          // K negatives per layer
  int64_t embed_dim = 128;
  double ema_momentum = 0.999;         // key heads h~
  int64_t chunks = 1;                  // dense NCE: 8 x 8 patches for segmentation
  bool augment = true;                 // RandAugment views (VisDA) / jittered key view (GTA5)
  double randaug_m = 6.0;
  int randaug_n = 1;
  // RandAugment's translations: Absolute pixels (the reference: up to 20 px at M = 6, whatever
  // the image size) or Relative: the reference's pixels at 224 px scaled to the image
  // (csg/augment.h RandAugment), the same fraction of the frame at every size.
  RandAugmentGeometry randaug_geometry = RandAugmentGeometry::Absolute;
  // GTA5: optimise the projection heads h. Off, as the reference: its segmentation optimizer
  // leaves them out, so their fixed random weights are part of its published numbers.
  bool train_seg_heads = false;
  // ---- Table 1's baselines (csg/method/regularizers.h) ----
  // None, or a regularizer trained as task loss + reg_weight x regularizer, without InfoNCE
  // (csg must be false): weight-l2, feature-l2, synaptic-intelligence, asg-kl.
  Regularizer regularizer = Regularizer::None;
  double reg_weight = -1;    // < 0: the regularizer's default (method::default_regularizer_weight)
  double si_damping = 1e-3;  // synaptic-intelligence: xi of Omega = omega / ((w - w0)^2 + xi)
  // ---- optimisation ----
  double lr = 1e-4;       // heads; the backbone gets lr * factor
  double factor = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool torch_sgd = false;  // plain torch.optim.SGD instead of the reference's variant
  int64_t batch_size = 32;
  int64_t epochs = 30;
  int64_t iters_per_epoch = 0;  // 0: data set size / batch (VisDA); GTA5 reference: 2000
  int64_t max_steps = 0;        // stop after this many steps (0: epochs * iters_per_epoch)
  int64_t warmup = 100;
  // ---- bookkeeping ----
  uint64_t seed = 0;
  std::string device = "cpu";  // or "cuda"
  // Bit-identical runs, at some cost in speed: the convolutions' ConvNumerics::deterministic
  // (CUDA: deterministic cuDNN algorithms; CPU BF16: oneDNN's BF16 primitive, not the fastest
  // kernel timed on first use) and, on CUDA, DeepLab's upsamplings' gather-based backward
  // (upsample_bilinear2d's `deterministic`). The CPU's f32 path is deterministic anyway.
  bool deterministic = false;
  // Fp32, or Bf16: BF16 mixed precision of the convolutions on the run's device (CPU: oneDNN,
  // AVX512_BF16 / AMX; CUDA: cuDNN, compute capability 8.0 or later): BF16 operands, f32
  // accumulation and results (on CUDA rounded through BF16), f32 master weights, BN, GEMMs, losses.
  Precision precision = Precision::F32;
  // CUDA: false turns TF32 off in cuBLAS (default math, csg::cuda::set_matmul_tf32) and in the
  // convolutions (ConvNumerics::tf32: fp32 math), for
  // reproduction runs in full float32; true keeps the defaults (PyTorch's: convolutions TF32,
  // matmuls not). The CPU computes in float32 either way.
  bool tf32 = true;
  int64_t log_every = 10;
  int64_t checkpoint_every = 1000;
  int keep_checkpoints = 3;
  bool eval_at_end = true;
  // Evaluate on the target split every this many epochs and keep <out>/best.ckpt (0: only at
  // the end). Model selection on the target split: "best" is not a zero-shot figure.
  int64_t eval_every = 0;
  // VisDA evaluation: class scores = mean of sigmoid(f(x)) and sigmoid(f(flip_w(x))), as the
  // reference validates (docs/paper-notes.md#visda-evaluation); false: arg-max of f(x) alone.
  bool flip_tta = true;
  bool quiet = false;  // no progress line (tests)
  // ---- the run folder (src/train/run_folder.h) ----
  std::string out_dir;                    // empty: <runs_root>/<task>-<date>-<time>, new for each run
  std::string runs_root = "runs";
  bool overwrite = false;                 // empty out_dir of an earlier run's files first
  std::string resume;                     // "latest", a run folder, or a checkpoint file
  std::vector<std::string> allow_change;  // settings a resume may change, by flag name ("lr")
  std::string command_line;               // recorded in config.json
};

Config default_config(Task task);

struct TrainSummary {
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;  // mean total loss of the first / last logged window
  double first_task_loss = 0, last_task_loss = 0;  // the same for the task loss alone
  std::string out_dir;  // the run folder (resolved when Config::out_dir was empty)
  std::string final_checkpoint;
  double metric = -1;  // mean class accuracy (VisDA) or mIoU (GTA5) at the end, when evaluated
  std::vector<std::pair<int64_t, double>> evaluations;  // (step, metric) of every evaluation of this run
  // --eval-every: the best target-split metric so far (also before a resume), its step and file.
  double best_metric = -1;
  int64_t best_step = -1;
  std::string best_checkpoint;
  bool interrupted = false;  // SIGINT/SIGTERM: stopped after a step (or the set-up), checkpoint written
  int stop_signal = 0;       // which of the two (SIGINT or SIGTERM); 0 when not interrupted
};

// Runs the whole training: data, models, the CSG step, SGD with the reference's schedule,
// progress line, CSV log (<out_dir>/log.csv), checkpoints (<out_dir>/csg-<step>.ckpt) and
// the final evaluation. SIGINT/SIGTERM stop it after the current step (a signal during the set-up:
// before the first) with a checkpoint; after the last step they end the process as by default.
// The run folder: <out_dir>/config.json (every setting, the build, the command line) is
// written at the start; a folder holding another run's files is refused (Config::overwrite
// empties it first); a resume compares the checkpoint's settings with this run's and refuses a
// change to any that alters the trajectory unless Config::allow_change names it; pruning only
// ever deletes checkpoints this run wrote.
TrainSummary run_training(const Config& cfg);

// Evaluates a checkpoint written by run_training (or ImageNet weights for the oracle) on the
// target domain: VisDA validation (mean class accuracy table) or Cityscapes val (mIoU table).
// Prints the table; returns the metric.
double run_evaluation(const Config& cfg, const std::string& checkpoint);

// Hyperspherical energy (s = 0, 1, 2) of the l2-normalised, globally pooled layer4 features of
// the model in `checkpoint` (empty: the ImageNet weights) on the VisDA validation images.
std::vector<double> run_hse(const Config& cfg, const std::string& checkpoint, int64_t max_images);

}  // namespace csg::train
