// src/train/trainer.cpp — the training loop around csg_step: data, optimizer and schedule,
// progress line, CSV log, checkpoints and resume, final evaluation.
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>

#include "csg/cuda.h"
#include "csg/io/checkpoint.h"
#include "csg/io/tensorboard.h"
#include "csg/method/regularizers.h"
#include "csg/optim.h"
#include "csg/train.h"
#include "csg/progress.h"
#include "src/io/atomic_file.h"
#include "src/ops/conv_precision.h"
#include "src/train/best_checkpoint.h"
#include "src/train/csg_step.h"
#include "src/train/data_check.h"
#include "src/train/data_parallel.h"
#include "src/train/data_setup.h"
#include "src/train/evaluate.h"
#include "src/train/run_estimate.h"
#include "src/train/run_folder.h"
#include "src/train/settings.h"
#include "src/train/state.h"
#include "src/train/stop_signals.h"

namespace csg::train {

const char* task_name(Task task) { return task == Task::Visda ? "visda" : "gta5"; }

Config default_config(Task task) {
  Config c;
  c.task = task;
  if (task == Task::Gta5) {  // docs/paper-notes.md#gta5-to-cityscapes-segmentation
    c.arch = "deeplab101";
    c.num_classes = 19;
    c.lambda = 75;
    c.chunks = 8;
    c.lr = 1e-3;
    c.batch_size = 6;
    c.epochs = 50;
    c.iters_per_epoch = 2000;
  }
  return c;
}

namespace {

// Running means of the step results between two log lines.
struct Window {
  int64_t steps = 0, images = 0;
  double total = 0, task = 0, reg = 0;
  std::map<int, double> nce, top1;
  void add(const StepResult& r, int64_t batch) {
    ++steps;
    images += batch;
    total += r.total;
    task += r.task;
    reg += r.reg;
    for (auto& [l, v] : r.nce) nce[l] += v;
    for (auto& [l, v] : r.nce_top1) top1[l] += v;
  }
};

struct RunStart {
  std::string run_id;
  std::string resume_path;  // the checkpoint to continue from, or empty
  int64_t resume_step = 0;
  bool continuing = false;  // it resumes inside its own folder
};

// A run id unique across machines and time: start time in microseconds and 64 random bits.
std::string new_run_id() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llx-%016llx", static_cast<unsigned long long>(us),
                static_cast<unsigned long long>(r));
  return buf;
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

// What the run continues: resolves --resume (latest / folder / file) and checks the checkpoint's
// task and settings against cfg. Writes nothing: the run folder is made once the whole set-up has
// passed (open_run_folder), so a start that fails leaves no folder behind.
RunStart plan_run(Config& cfg) {
  namespace fs = std::filesystem;
  RunStart start;
  start.run_id = new_run_id();
  if (cfg.resume.empty()) return start;
  start.resume_path = resolve_resume(cfg.resume, cfg.out_dir, cfg.runs_root, task_name(cfg.task));
  const std::string folder = fs::path(start.resume_path).parent_path().string();
  if (cfg.out_dir.empty()) cfg.out_dir = folder.empty() ? "." : folder;
  start.continuing = same_folder(folder.empty() ? "." : folder, cfg.out_dir);
  const std::map<std::string, std::string> meta = load_checkpoint_meta(start.resume_path);
  check_resume_settings(start.resume_path, meta, cfg);
  auto id = meta.find("run_id");
  if (id != meta.end() && !id->second.empty()) start.run_id = id->second;  // one run, continued
  auto st = meta.find("step");
  if (st != meta.end()) start.resume_step = std::atoll(st->second.c_str());
  return start;
}

// plan_run on rank 0 alone; every rank gets its result.
RunStart plan_run_on_root(dist::Communicator& comm, Config& cfg) {
  const std::string text = on_root(comm, [&] {
    const RunStart s = plan_run(cfg);
    return s.run_id + "\n" + s.resume_path + "\n" + std::to_string(s.resume_step) + "\n" +
           (s.continuing ? "1" : "0") + "\n" + cfg.out_dir;
  });
  std::vector<std::string> lines;
  for (size_t from = 0;;) {
    const size_t nl = text.find('\n', from);
    lines.push_back(text.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
    if (nl == std::string::npos || lines.size() == 5) break;
    from = nl + 1;
  }
  RunStart start;
  start.run_id = lines[0];
  start.resume_path = lines[1];
  start.resume_step = std::atoll(lines[2].c_str());
  start.continuing = lines[3] == "1";
  cfg.out_dir = lines[4];
  return start;
}

// Prepares cfg.out_dir (a run that resumes elsewhere than its own folder starts a fresh one; a
// folder that holds another run is refused) and writes config.json there, on rank 0.
void open_run_folder_on_root(dist::Communicator& comm, Config& cfg, const RunStart& start) {
  namespace fs = std::filesystem;
  cfg.out_dir = on_root(comm, [&] {
    const std::string dir =
        prepare_run_folder(cfg.out_dir, cfg.runs_root, task_name(cfg.task), start.continuing, cfg.overwrite).out_dir;
    const std::string name =
        start.continuing ? "config-resume-" + std::to_string(start.resume_step) + ".json" : "config.json";
    Config recorded = cfg;
    recorded.out_dir = dir;
    io::write_text_file_atomically((fs::path(dir) / name).string(),
                                   settings_json(recorded, start.run_id, start.resume_path));
    std::fprintf(stderr, "run folder %s (settings in %s)\n", dir.c_str(), name.c_str());
    return dir;
  });
}

// log.csv: a new file with its header, or, when resuming at `step`, the rows up to `step` of
// the existing one (later rows belong to steps the resumed run computes again).
std::ofstream open_training_log(const std::string& path, const std::string& header, int64_t step) {
  std::vector<std::string> kept;
  std::ifstream old(path);
  std::string line;
  if (step > 0 && old && std::getline(old, line) && line == header) {
    while (std::getline(old, line)) {
      const long long row_step = std::atoll(line.c_str());
      if (row_step > 0 && row_step <= step) kept.push_back(line);
    }
  }
  std::string text = header + "\n";
  for (const std::string& row : kept) text += row + "\n";
  io::write_text_file_atomically(path, text);
  std::ofstream csv(path, std::ios::app);
  CSG_CHECK(csv.good(), path, ": cannot write the training log");
  return csv;
}

// The best-so-far record of a resumed run: the checkpoint's, and that of the folder's best.ckpt
// when it belongs to the same run (it may be newer than the checkpoint resumed from).
void restore_best(BestCheckpoint& best, const std::string& resume_path, const std::string& run_id) {
  best.restore(load_checkpoint_meta(resume_path));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(best.path(), ec)) return;
  std::map<std::string, std::string> meta;
  try {
    meta = load_checkpoint_meta(best.path());
  } catch (const CorruptFile& e) {  // the run goes on; a better evaluation writes a new best.ckpt
    std::fprintf(stderr, "warning: %s; its best-so-far record is not used\n", e.what());
    return;
  }
  auto id = meta.find("run_id");
  if (id != meta.end() && id->second == run_id) best.restore(meta);
}

// Whether --precision asks for BF16 convolutions (set for the length of a run: tests train in
// one process, one run after another).
bool bf16_run(const Config& cfg) {
  CSG_CHECK(cfg.precision == "fp32" || cfg.precision == "bf16", "--precision ", cfg.precision, ": fp32 or bf16");
  return cfg.precision == "bf16";
}

}  // namespace

TrainSummary run_training(const Config& requested) {
  // First: the threads started from here on (OpenMP's, the loader's) never take these signals.
  std::optional<StopSignals> stop(std::in_place);
  Config cfg = requested;
  check_training_values(cfg);
  // Table 1's baselines: one regularizer instead of InfoNCE, at its default weight unless given.
  const double default_reg_weight = method::default_regularizer_weight(cfg.regularizer);  // an unknown name throws
  CSG_CHECK(cfg.regularizer == "none" || !cfg.csg, "regularizer ", cfg.regularizer,
            " is a baseline of the paper's Table 1: it trains without InfoNCE (set csg off)");
  if (cfg.reg_weight < 0) cfg.reg_weight = default_reg_weight;
  const Device dev = parse_device(cfg.device);
  // Throws, saying why, where the device has no BF16 convolutions (a CPU without AVX512_BF16 or
  // AMX, a GPU older than compute capability 8.0, no GPU), before any data is read.
  const ConvolutionPrecisionScope precision(bf16_run(cfg), dev);
  apply_backend_settings(cfg);
  // Several processes (mpirun): each trains on its shard of every batch; rank 0 alone writes
  // the run folder, logs and checkpoints (src/train/data_parallel.h).
  dist::Communicator& comm = dist::world();
  check_data_parallel_config(cfg, comm.size());
  if (comm.rank() != 0) cfg.quiet = true;
  const bool need_val = cfg.eval_at_end || cfg.eval_every > 0;
  CSG_CHECK(cfg.data_check == "auto" || cfg.data_check == "stop" || cfg.data_check == "warn" ||
                cfg.data_check == "off", "--data-check ", cfg.data_check, ": expected auto, stop, warn or off");
  if (cfg.data_check != "off")  // before the run folder and the first step; rank 0 reads, all stop
    on_root(comm, [&] {
      decide_on_data(check_run_data(cfg, need_val), cfg);
      return std::string();
    });
  // Everything that can fail at set-up (resume target, data, batch size, weights) is checked before
  // open_run_folder_on_root below makes the run folder.
  const RunStart start = plan_run_on_root(comm, cfg);  // resolves cfg.out_dir and --resume
  TaskData data = open_task_data(cfg, /*need_train=*/true, need_val);

  data::LoaderOptions lo;
  lo.batch_size = cfg.batch_size;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.num_workers = cfg.workers;
  lo.seed = cfg.seed;
  lo.shard = comm.rank();  // this rank's rows of every (global) batch
  lo.shard_count = comm.size();
  // An unreadable training image is replaced (with a warning naming it) by another sample drawn from
  // (seed, epoch, position), not left out: every batch keeps its size, so each rank's shard keeps
  // its share of the global batch's means and the keys of all ranks still gather row for row, and
  // 1 or N processes train on the same samples.
  lo.on_error = data::OnError::Substitute;
  // An epoch of --iters-per-epoch steps: GTA5 draws every sample independently (with replacement),
  // as the reference does; VisDA keeps its shuffled order without replacement, chaining fresh
  // permutations when the epoch is longer than the data set (0: one pass over the data set).
  if (cfg.iters_per_epoch > 0) lo.epoch_size = cfg.batch_size * cfg.iters_per_epoch;
  lo.sample_with_replacement = cfg.task == Task::Gta5;
  CSG_CHECK(lo.epoch_size > 0 || data.train->size() >= cfg.batch_size, "--batch-size ", cfg.batch_size,
            " is more than the ", data.train->size(), " training images of ", cfg.data, "; lower --batch-size");
  data::DataLoader loader(data.train, data.train_transform, lo);
  const int64_t iters_per_epoch = loader.batches_per_epoch();
  const int64_t total_steps = cfg.max_steps > 0 ? cfg.max_steps : cfg.epochs * iters_per_epoch;
  CSG_CHECK(start.resume_path.empty() || start.resume_step < total_steps, start.resume_path,
            ": this run is already complete (step ", start.resume_step, " of ", total_steps,
            "); nothing to train. To train it further, raise --epochs or --max-steps and name the change: "
            "--allow-change epochs (or max-steps)");

  CsgNetwork net(cfg);
  net.to_device(dev);
  CsgNetwork::Groups groups = net.parameter_groups();
  std::vector<optim::ParamGroup> pg = {{"backbone", groups.backbone, cfg.lr * cfg.factor},
                                       {"task_head", groups.task_head, cfg.lr},
                                       {"projection", groups.projection, cfg.lr}};
  optim::SGD sgd(pg, cfg.momentum, cfg.weight_decay,
                 cfg.torch_sgd ? optim::SgdVariant::Torch : optim::SgdVariant::Reference);
  std::vector<Tensor> trained;
  for (const optim::ParamGroup& g : pg) trained.insert(trained.end(), g.params.begin(), g.params.end());
  DataParallel parallel(comm, trained);

  int64_t step = 0;
  if (!start.resume_path.empty()) step = restore_training_state(start.resume_path, cfg, net, sgd);
  open_run_folder_on_root(comm, cfg, start);  // the set-up passed: now the folder and config.json
  BestCheckpoint best(cfg.out_dir + "/best.ckpt");
  if (!start.resume_path.empty()) {
    if (parallel.is_root())
      std::fprintf(stderr, "resumed from %s at step %lld\n", start.resume_path.c_str(), static_cast<long long>(step));
    restore_best(best, start.resume_path, start.run_id);
  }

  const std::string csv_path = cfg.out_dir + "/log.csv";
  const bool regularized = cfg.regularizer != "none";
  std::string header = "step,epoch,lr,loss,task";
  if (regularized) header += ",reg";
  for (int l : cfg.layers)
    if (cfg.csg) header += ",nce_layer" + std::to_string(l) + ",top1_layer" + std::to_string(l);
  header += ",images_per_s,elapsed_s";
  std::ofstream csv;
  std::unique_ptr<TensorBoardWriter> tb;  // the same scalars; a resumed run adds a second events file
  if (parallel.is_root()) {
    csv = open_training_log(csv_path, header, step);
    tb = std::make_unique<TensorBoardWriter>(cfg.out_dir);
  }

  if (parallel.is_root()) {
    if (parallel.ranks() > 1)
      std::fprintf(stderr, "%d processes (%s): %lld images of each batch per process\n", parallel.ranks(),
                   comm.backend().c_str(), static_cast<long long>(cfg.batch_size / parallel.ranks()));
    std::fprintf(stderr, "[%s] %s on %s: %lld steps (%lld per epoch, batch %lld), %s, layers",
                 task_name(cfg.task), cfg.arch.c_str(), device_name(dev),
                 static_cast<long long>(total_steps), static_cast<long long>(iters_per_epoch),
                 static_cast<long long>(cfg.batch_size),
                 cfg.csg ? "CSG" : regularized ? ("baseline + " + cfg.regularizer + " x " + format_number(cfg.reg_weight)).c_str()
                                               : "baseline (no CSG)");
    for (int l : cfg.layers) std::fprintf(stderr, " %d", l);
    std::fprintf(stderr, ", lambda %g, %s\n", cfg.lambda, cfg.apool ? "A-pool" : "GAP");
  }

  TrainSummary summary;
  summary.out_dir = cfg.out_dir;
  const char* metric_name = cfg.task == Task::Visda ? "mean class accuracy" : "mIoU";
  // The best-so-far record, as every checkpoint carries it.
  auto best_record = [&] {
    std::map<std::string, std::string> record;
    best.add_to(record);
    return record;
  };
  auto report_best = [&] {
    summary.best_metric = best.best().metric;
    summary.best_step = best.best().step;
    summary.best_checkpoint = best.best().path;
  };
  // Evaluates the current weights on the target split; --eval-every: keeps best.ckpt.
  auto evaluate_now = [&] {
    const double m = evaluate(cfg, net, *data.val, data.val_transform, dev);
    summary.evaluations.push_back({step, m});
    if (tb) {
      tb->add_scalar(cfg.task == Task::Visda ? "val/mean_class_accuracy" : "val/miou", m, step);
      tb->flush();
    }
    if (cfg.eval_every > 0 && parallel.is_root()) {
      const bool better =
          best.offer(m, step, [&] { return training_checkpoint(cfg, net, sgd, step, start.run_id, best_record()); });
      std::fprintf(stderr,
                   "epoch %.4g (step %lld): target-split %s %.2f%s; best %.2f at step %lld (%s; chosen on the "
                   "target split, so not a zero-shot figure)\n",
                   static_cast<double>(step) / iters_per_epoch, static_cast<long long>(step), metric_name, m,
                   better ? ", new best" : "", best.best().metric, static_cast<long long>(best.best().step),
                   best.best().path.c_str());
    }
    net.set_training_modes();
  };
  // The state at `step` as a checkpoint (rank 0), keeping --keep-checkpoints of this run's.
  auto save_checkpoint_now = [&] {
    if (!parallel.is_root()) return;
    summary.final_checkpoint = save_training_state(cfg, net, sgd, step, start.run_id, best_record());
    prune_checkpoints(cfg.out_dir, "csg", cfg.keep_checkpoints, start.run_id, step);
  };
  // The end of a run stopped by `sig`, its checkpoint written.
  auto stopped_by = [&](int sig) {
    if (parallel.is_root())
      std::fprintf(stderr, "stopped by %s at step %lld; resume with --resume %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   static_cast<long long>(step), summary.final_checkpoint.c_str());
    summary.steps = step;
    summary.interrupted = true;
    summary.stop_signal = sig;
    report_best();
    return summary;
  };
  {  // A signal during the set-up: the state before the first step is the checkpoint (resuming it starts over).
    StepResult none;
    if (const int sig = parallel.average_and_agree_stop(none, stop->pending())) {
      save_checkpoint_now();
      return stopped_by(sig);
    }
  }
  net.set_training_modes();
  const auto t_start = std::chrono::steady_clock::now();
  auto t_window = t_start;
  auto t_first_step = t_start;  // the end of this run's first step: the estimate times the steps after it
  Window window;
  int64_t steps_this_run = 0;
  // Segmentation: the first steps must supervise some pixel (labels that are all 255 train nothing).
  const int64_t label_check_steps = std::min<int64_t>(10, total_steps - step);
  int64_t labelled_in_first_steps = 0, label_maps_seen = 0;
  for (int64_t epoch = step / iters_per_epoch; step < total_steps; ++epoch) {
    loader.start_epoch(epoch);
    // A resumed run continues inside its epoch: the loader's order depends only on
    // (seed, epoch), so skipping the batches already seen gives the same data.
    for (int64_t skip = step - epoch * iters_per_epoch; skip > 0; --skip) loader.next();
    while (step < total_steps) {
      std::optional<data::Batch> batch = loader.next();
      if (!batch) break;
      StepInput in;
      in.x_q = batch->views[0].to(dev);
      // Without augmentation the key view is the query view (the reference passes one tensor).
      in.x_k = batch->views.size() > 1 ? batch->views[1].to(dev) : in.x_q;
      in.labels = batch->labels.to(dev);
      const bool checking_labels = net.segmentation() && steps_this_run < label_check_steps;
      int64_t labelled = 0;
      in.task_loss_share = parallel.task_loss_share(batch->labels, 255, checking_labels ? &labelled : nullptr);
      if (checking_labels) {
        labelled_in_first_steps += labelled;
        label_maps_seen += batch->size() * parallel.ranks();
        CSG_CHECK(labelled_in_first_steps > 0 || steps_this_run + 1 < label_check_steps,
                  cfg.data, ": every pixel of the ", label_maps_seen, " label maps of the first ", steps_this_run + 1,
                  " steps is 255 (ignored), so the task loss supervises nothing. GTA5 labels must be 8-bit palette or "
                  "greyscale PNGs of Cityscapes label ids (7 = road, 26 = car, ...); label maps that could not be read "
                  "were replaced, as the warnings above say");
      }
      const double lr_scale = optim::warmup_poly_lr_scale(step, total_steps, cfg.warmup);
      StepResult r = csg_step(net, cfg, sgd, lr_scale, in, parallel);
      // The global batch's figures, and one stop decision for all ranks (a signal may reach one).
      const int stop_signal = parallel.average_and_agree_stop(r, stop->pending());
      CSG_CHECK(std::isfinite(r.total), "step ", step, ": the loss is ", r.total, " (task ", r.task,
                "); stopping; the last checkpoint in ", cfg.out_dir, " is intact");
      ++step;
      ++steps_this_run;
      window.add(r, batch->size() * parallel.ranks());
      if (steps_this_run == 1) t_first_step = std::chrono::steady_clock::now();
      if (steps_this_run == 1 + kEstimateSteps && step < total_steps && parallel.is_root() && !cfg.quiet) {
        const auto now = std::chrono::steady_clock::now();
        RunEstimate e;
        e.device = device_name(dev);
        e.timed_steps = kEstimateSteps;
        e.seconds_per_step = std::chrono::duration<double>(now - t_first_step).count() / kEstimateSteps;
        e.first_step_seconds = std::chrono::duration<double>(t_first_step - t_start).count();
        e.steps_per_epoch = iters_per_epoch;
        e.steps_left = total_steps - step;
        std::fprintf(stderr, "%s\n", format_estimate(e).c_str());
      }

      if (step % cfg.log_every == 0 || step == total_steps) {
        const auto now = std::chrono::steady_clock::now();
        const double window_s = std::chrono::duration<double>(now - t_window).count();
        const double elapsed = std::chrono::duration<double>(now - t_start).count();
        const double ips = window.images / std::max(window_s, 1e-9);
        const double eta = elapsed / steps_this_run * (total_steps - step);
        const double lr = cfg.lr * lr_scale, n = static_cast<double>(window.steps);
        summary.last_loss = window.total / n;
        summary.last_task_loss = window.task / n;
        if (summary.first_loss == 0) {
          summary.first_loss = summary.last_loss;
          summary.first_task_loss = summary.last_task_loss;
        }
        if (parallel.is_root()) {  // rank 0 writes the log (the figures are already the ranks' mean)
          csv << step << "," << epoch << "," << lr << "," << window.total / n << "," << window.task / n;
          if (regularized) csv << "," << window.reg / n;
          for (int l : cfg.layers)
            if (cfg.csg) csv << "," << window.nce[l] / n << "," << window.top1[l] / n;
          csv << "," << ips << "," << elapsed << "\n";
          csv.flush();
          std::map<std::string, double> scalars = {{"train/loss", window.total / n},
                                                   {"train/task", window.task / n},
                                                   {"train/lr", lr},
                                                   {"train/images_per_s", ips},
                                                   {"train/epoch", static_cast<double>(epoch)}};
          if (regularized) scalars["train/reg"] = window.reg / n;
          for (int l : cfg.layers)
            if (cfg.csg) {
              scalars["train/nce_layer" + std::to_string(l)] = window.nce[l] / n;
              scalars["train/top1_layer" + std::to_string(l)] = window.top1[l] / n;
            }
          tb->add_scalars(step, scalars);
          tb->flush();
        }
        if (!cfg.quiet) {
          std::fprintf(stderr, "step %lld/%lld epoch %lld | loss %.4f (task %.4f", static_cast<long long>(step),
                       static_cast<long long>(total_steps), static_cast<long long>(epoch), window.total / n,
                       window.task / n);
          if (regularized) std::fprintf(stderr, ", %s %.4g", cfg.regularizer.c_str(), window.reg / n);
          for (int l : cfg.layers)
            if (cfg.csg) std::fprintf(stderr, ", nce%d %.3f", l, window.nce[l] / n);
          std::fprintf(stderr, ") | lr %.2e | %.1f img/s | ETA %s\n", lr, ips, format_seconds(eta).c_str());
        }
        window = Window();
        t_window = now;
      }
      // Before the checkpoint, so that the checkpoint records this evaluation's best.
      if (cfg.eval_every > 0 && step % iters_per_epoch == 0 && (step / iters_per_epoch) % cfg.eval_every == 0)
        evaluate_now();
      if (step % cfg.checkpoint_every == 0 || step == total_steps || stop_signal != 0) save_checkpoint_now();
      if (stop_signal != 0) return stopped_by(stop_signal);
    }
  }
  // Training is over; a signal from here on ends the process at once (its default), the final
  // checkpoint on disk.
  stop.reset();
  summary.steps = step;
  // Every rank learns where rank 0 wrote the final checkpoint, once it is on disk.
  summary.final_checkpoint = comm.broadcast_text(summary.final_checkpoint);
  comm.barrier();
  if (parallel.is_root())
    std::fprintf(stderr, "training done: %lld steps; checkpoint %s; log %s\n", static_cast<long long>(step),
                 summary.final_checkpoint.c_str(), csv_path.c_str());
  // The last weights' figure is always reported, beside any best of --eval-every.
  if (cfg.eval_at_end || cfg.eval_every > 0) {
    if (summary.evaluations.empty() || summary.evaluations.back().first != step)
      evaluate_now();
    summary.metric = summary.evaluations.back().second;
  }
  report_best();
  return summary;
}

}  // namespace csg::train
