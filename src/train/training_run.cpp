// src/train/training_run.cpp — see training_run.h.
#include "src/train/training_run.h"

#include <cmath>
#include <csignal>
#include <cstdio>

#include "csg/io/checkpoint.h"
#include "csg/method/regularizers.h"
#include "src/train/csg_step.h"
#include "src/train/data_check.h"
#include "src/train/evaluate.h"
#include "src/train/settings.h"
#include "src/train/state.h"

namespace csg::train {
namespace {

// The settings as run: values in range, and Table 1's baselines (one regularizer instead of
// InfoNCE) at their default weight unless given.
Config checked_config(const Config& requested) {
  Config cfg = requested;
  check_training_values(cfg);
  const double default_reg_weight = method::default_regularizer_weight(cfg.regularizer);
  CSG_CHECK(cfg.regularizer == Regularizer::None || !cfg.csg, "regularizer ", name_of(cfg.regularizer),
            " is a baseline of the paper's Table 1: it trains without InfoNCE (set csg off)");
  if (cfg.reg_weight < 0) cfg.reg_weight = default_reg_weight;
  return cfg;
}

bool needs_validation(const Config& cfg) { return cfg.eval_at_end || cfg.eval_every > 0; }

}  // namespace

// conv_numerics throws, saying why, where the device has no BF16 convolutions, before any data is read.
TrainingRun::TrainingRun(const Config& requested)
    : cfg_(checked_config(requested)),
      dev_(parse_device(cfg_.device)),
      numerics_(conv_numerics(cfg_, dev_, /*training=*/true)) {
  apply_backend_settings(cfg_);
  // Several processes (mpirun): each trains on its shard of every batch; rank 0 alone writes the
  // run folder, logs and checkpoints (src/train/data_parallel.h).
  comm_ = &dist::world();
  check_data_parallel_config(cfg_, comm_->size());
  if (comm_->rank() != 0) cfg_.quiet = true;
  check_data_before_the_run();
  start_ = plan_run_on_root(*comm_, cfg_);  // resolves cfg_.out_dir and --resume
  data_ = open_task_data(cfg_, /*need_train=*/true, needs_validation(cfg_));
  const data::LoaderOptions lo = loader_options();
  CSG_CHECK(lo.epoch_size > 0 || data_.train->size() >= cfg_.batch_size, "--batch-size ", cfg_.batch_size,
            " is more than the ", data_.train->size(), " training images of ", cfg_.data, "; lower --batch-size");
  loader_ = std::make_unique<data::DataLoader>(data_.train, data_.train_transform, lo);
  steps_per_epoch_ = loader_->batches_per_epoch();
  total_steps_ = cfg_.max_steps > 0 ? cfg_.max_steps : cfg_.epochs * steps_per_epoch_;
  CSG_CHECK(start_.resume_path.empty() || start_.resume_step < total_steps_, start_.resume_path,
            ": this run is already complete (step ", start_.resume_step, " of ", total_steps_,
            "); nothing to train. To train it further, raise --epochs or --max-steps and name the change: "
            "--allow-change epochs (or max-steps)");
  build_network_and_optimizer();
  if (!start_.resume_path.empty()) step_ = restore_training_state(start_.resume_path, cfg_, *net_, *sgd_);
  first_step_ = step_;

  open_run_folder_on_root(*comm_, cfg_, start_);  // the set-up passed: now the folder and config.json
  best_ = std::make_unique<BestCheckpoint>(cfg_.out_dir + "/best.ckpt");
  if (!start_.resume_path.empty()) {
    if (parallel_->is_root())
      std::fprintf(stderr, "resumed from %s at step %lld\n", start_.resume_path.c_str(), static_cast<long long>(step_));
    restore_best(*best_, start_.resume_path, start_.run_id);
  }
  log_ = std::make_unique<RunLog>(cfg_, parallel_->is_root(),
                                  RunLogContext{device_name(dev_), step_, total_steps_, steps_per_epoch_});
  if (parallel_->is_root()) log_->announce(parallel_->ranks(), comm_->backend());
  summary_.out_dir = cfg_.out_dir;
  label_check_steps_ = std::min<int64_t>(10, total_steps_ - first_step_);
}

// --data-check: before the run folder and the first step; rank 0 reads, all stop.
void TrainingRun::check_data_before_the_run() {
  if (cfg_.data_check == DataCheck::Off) return;
  on_root(*comm_, [&] {
    decide_on_data(check_run_data(cfg_, needs_validation(cfg_)), cfg_);
    return std::string();
  });
}

data::LoaderOptions TrainingRun::loader_options() const {
  data::LoaderOptions lo;
  lo.batch_size = cfg_.batch_size;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.num_workers = cfg_.workers;
  lo.seed = cfg_.seed;
  lo.shard = comm_->rank();  // this rank's rows of every (global) batch
  lo.shard_count = comm_->size();
  // An unreadable training image is replaced (with a warning naming it) by another sample drawn from
  // (seed, epoch, position), not left out: every batch keeps its size, so each rank's shard keeps
  // its share of the global batch's means and the keys of all ranks still gather row for row, and
  // 1 or N processes train on the same samples.
  lo.on_error = data::OnError::Substitute;
  // An epoch of --iters-per-epoch steps: GTA5 draws every sample independently (with replacement),
  // as the reference does; VisDA keeps its shuffled order without replacement, chaining fresh
  // permutations when the epoch is longer than the data set (0: one pass over the data set).
  if (cfg_.iters_per_epoch > 0) lo.epoch_size = cfg_.batch_size * cfg_.iters_per_epoch;
  lo.sample_with_replacement = cfg_.task == Task::Gta5;
  return lo;
}

// f_e (trained), f_eo (frozen), the projection heads; SGD with the backbone at lr x factor.
void TrainingRun::build_network_and_optimizer() {
  net_ = std::make_unique<CsgNetwork>(cfg_, numerics_);
  net_->to_device(dev_);
  CsgNetwork::Groups groups = net_->parameter_groups();
  std::vector<optim::ParamGroup> pg = {{"backbone", groups.backbone, cfg_.lr * cfg_.factor},
                                       {"task_head", groups.task_head, cfg_.lr},
                                       {"projection", groups.projection, cfg_.lr}};
  sgd_ = std::make_unique<optim::SGD>(pg, cfg_.momentum, cfg_.weight_decay,
                                      cfg_.torch_sgd ? optim::SgdVariant::Torch : optim::SgdVariant::Reference);
  std::vector<Tensor> trained;
  for (const optim::ParamGroup& g : pg) trained.insert(trained.end(), g.params.begin(), g.params.end());
  parallel_ = std::make_unique<DataParallel>(*comm_, trained);
}

int TrainingRun::stop_before_first_step(StopSignals& stop) {
  StepResult none;
  return parallel_->average_and_agree_stop(none, stop.pending());
}

void TrainingRun::begin() {
  net_->set_training_modes();
  log_->start_clock();
}

void TrainingRun::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  loader_->start_epoch(epoch);
  for (int64_t skip = step_ - epoch * steps_per_epoch_; skip > 0; --skip) loader_->next();
}

int TrainingRun::train_step(const data::Batch& batch, StopSignals& stop) {
  StepInput in;
  in.x_q = batch.views[0].to(dev_);
  // Without augmentation the key view is the query view (the reference passes one tensor).
  in.x_k = batch.views.size() > 1 ? batch.views[1].to(dev_) : in.x_q;
  in.labels = batch.labels.to(dev_);
  in.task_loss_share = task_loss_share(batch);
  const double lr_scale = optim::warmup_poly_lr_scale(step_, total_steps_, cfg_.warmup);
  StepResult r = csg_step(*net_, cfg_, *sgd_, lr_scale, in, *parallel_);
  // The global batch's figures, and one stop decision for all ranks (a signal may reach one).
  const int stop_signal = parallel_->average_and_agree_stop(r, stop.pending());
  CSG_CHECK(std::isfinite(r.total), "step ", step_, ": the loss is ", r.total, " (task ", r.task,
            "); stopping; the last checkpoint in ", cfg_.out_dir, " is intact");
  ++step_;
  log_->add_step(r, batch.size() * parallel_->ranks(), step_, epoch_, cfg_.lr * lr_scale, summary_);
  return stop_signal;
}

// This rank's share of the batch's task loss; in a segmentation run's first steps, also checks that
// some pixel is supervised.
double TrainingRun::task_loss_share(const data::Batch& batch) {
  const bool checking_labels = net_->segmentation() && steps_this_run() < label_check_steps_;
  int64_t labelled = 0;
  const double share = parallel_->task_loss_share(batch.labels, 255, checking_labels ? &labelled : nullptr);
  if (!checking_labels) return share;
  labelled_in_first_steps_ += labelled;
  label_maps_seen_ += batch.size() * parallel_->ranks();
  CSG_CHECK(labelled_in_first_steps_ > 0 || steps_this_run() + 1 < label_check_steps_, cfg_.data, ": every pixel of the ",
            label_maps_seen_, " label maps of the first ", steps_this_run() + 1,
            " steps is 255 (ignored), so the task loss supervises nothing. GTA5 labels must be 8-bit palette or "
            "greyscale PNGs of Cityscapes label ids (7 = road, 26 = car, ...); label maps that could not be read "
            "were replaced, as the warnings above say");
  return share;
}

bool TrainingRun::evaluation_due() const {
  return cfg_.eval_every > 0 && step_ % steps_per_epoch_ == 0 && (step_ / steps_per_epoch_) % cfg_.eval_every == 0;
}

bool TrainingRun::checkpoint_due() const { return step_ % cfg_.checkpoint_every == 0 || step_ == total_steps_; }

// The best-so-far record, as every checkpoint carries it.
std::map<std::string, std::string> TrainingRun::best_record() const {
  std::map<std::string, std::string> record;
  best_->add_to(record);
  return record;
}

void TrainingRun::evaluate() {
  const double m = train::evaluate(cfg_, *net_, *data_.val, data_.val_transform, dev_);
  summary_.evaluations.push_back({step_, m});
  log_->add_evaluation(m, step_);
  if (cfg_.eval_every > 0 && parallel_->is_root()) {
    const bool better = best_->offer(
        m, step_, [&] { return training_checkpoint(cfg_, *net_, *sgd_, step_, start_.run_id, best_record()); });
    std::fprintf(stderr,
                 "epoch %.4g (step %lld): target-split %s %.2f%s; best %.2f at step %lld (%s; chosen on the "
                 "target split, so not a zero-shot figure)\n",
                 static_cast<double>(step_) / steps_per_epoch_, static_cast<long long>(step_),
                 cfg_.task == Task::Visda ? "mean class accuracy" : "mIoU", m, better ? ", new best" : "",
                 best_->best().metric, static_cast<long long>(best_->best().step), best_->best().path.c_str());
  }
  net_->set_training_modes();
}

void TrainingRun::save_checkpoint() {
  if (!parallel_->is_root()) return;
  summary_.final_checkpoint = save_training_state(cfg_, *net_, *sgd_, step_, start_.run_id, best_record());
  prune_checkpoints(cfg_.out_dir, "csg", cfg_.keep_checkpoints, start_.run_id, step_);
}

void TrainingRun::report_best() {
  summary_.best_metric = best_->best().metric;
  summary_.best_step = best_->best().step;
  summary_.best_checkpoint = best_->best().path;
}

TrainSummary TrainingRun::stopped_by(int signal) {
  if (parallel_->is_root())
    std::fprintf(stderr, "stopped by %s at step %lld; resume with --resume %s\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT", static_cast<long long>(step_),
                 summary_.final_checkpoint.c_str());
  summary_.steps = step_;
  summary_.interrupted = true;
  summary_.stop_signal = signal;
  report_best();
  return summary_;
}

TrainSummary TrainingRun::finish() {
  summary_.steps = step_;
  // Every rank learns where rank 0 wrote the final checkpoint, once it is on disk.
  summary_.final_checkpoint = comm_->broadcast_text(summary_.final_checkpoint);
  comm_->barrier();
  if (parallel_->is_root())
    std::fprintf(stderr, "training done: %lld steps; checkpoint %s; log %s\n", static_cast<long long>(step_),
                 summary_.final_checkpoint.c_str(), log_->csv_path().c_str());
  // The last weights' figure is always reported, beside any best of --eval-every.
  if (needs_validation(cfg_)) {
    if (summary_.evaluations.empty() || summary_.evaluations.back().first != step_) evaluate();
    summary_.metric = summary_.evaluations.back().second;
  }
  report_best();
  return summary_;
}

}  // namespace csg::train
