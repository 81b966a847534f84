// src/train/run_log.cpp — see run_log.h.
#include "src/train/run_log.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "csg/progress.h"
#include "src/io/atomic_file.h"
#include "src/train/run_estimate.h"
#include "src/train/settings.h"

namespace csg::train {
namespace {

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

std::string csv_header(const Config& cfg) {
  std::string header = "step,epoch,lr,loss,task";
  if (cfg.regularizer != Regularizer::None) header += ",reg";
  for (int l : cfg.layers)
    if (cfg.csg) header += ",nce_layer" + std::to_string(l) + ",top1_layer" + std::to_string(l);
  return header + ",images_per_s,elapsed_s";
}

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

RunLog::RunLog(const Config& cfg, bool writes, const RunLogContext& context)
    : cfg_(cfg), writes_(writes), regularized_(cfg.regularizer != Regularizer::None), context_(context),
      csv_path_(cfg.out_dir + "/log.csv") {
  if (!writes_) return;
  csv_ = open_training_log(csv_path_, csv_header(cfg), context.first_step);
  tb_ = std::make_unique<TensorBoardWriter>(cfg.out_dir);  // the same scalars as log.csv
}

void RunLog::announce(int ranks, const std::string& backend) const {
  if (ranks > 1)
    std::fprintf(stderr, "%d processes (%s): %lld images of each batch per process\n", ranks, backend.c_str(),
                 static_cast<long long>(cfg_.batch_size / ranks));
  const std::string method = cfg_.csg        ? "CSG"
                             : regularized_ ? "baseline + " + std::string(name_of(cfg_.regularizer)) + " x " + format_number(cfg_.reg_weight)
                                            : "baseline (no CSG)";
  std::fprintf(stderr, "[%s] %s on %s: %lld steps (%lld per epoch, batch %lld), %s, layers", task_name(cfg_.task),
               name_of(cfg_.arch), context_.device, static_cast<long long>(context_.total_steps),
               static_cast<long long>(context_.steps_per_epoch), static_cast<long long>(cfg_.batch_size),
               method.c_str());
  for (int l : cfg_.layers) std::fprintf(stderr, " %d", l);
  std::fprintf(stderr, ", lambda %g, %s\n", cfg_.lambda, cfg_.apool ? "A-pool" : "GAP");
}

void RunLog::start_clock() { t_start_ = t_window_ = t_first_step_ = Clock::now(); }

void RunLog::add_step(const StepResult& r, int64_t images, int64_t step, int64_t epoch, double lr,
                      TrainSummary& summary) {
  const int64_t steps_this_run = step - context_.first_step;
  ++window_.steps;
  window_.images += images;
  window_.total += r.total;
  window_.task += r.task;
  window_.reg += r.reg;
  for (auto& [l, v] : r.nce) window_.nce[l] += v;
  for (auto& [l, v] : r.nce_top1) window_.top1[l] += v;
  if (steps_this_run == 1) t_first_step_ = Clock::now();
  if (steps_this_run == 1 + kEstimateSteps && step < context_.total_steps && writes_ && !cfg_.quiet)
    print_estimate(step);
  if (step % cfg_.log_every == 0 || step == context_.total_steps) write_window(step, epoch, lr, summary);
}

void RunLog::print_estimate(int64_t step) const {
  RunEstimate e;
  e.device = context_.device;
  e.timed_steps = kEstimateSteps;
  e.seconds_per_step = seconds_between(t_first_step_, Clock::now()) / kEstimateSteps;
  e.first_step_seconds = seconds_between(t_start_, t_first_step_);
  e.steps_per_epoch = context_.steps_per_epoch;
  e.steps_left = context_.total_steps - step;
  std::fprintf(stderr, "%s\n", format_estimate(e).c_str());
}

void RunLog::write_window(int64_t step, int64_t epoch, double lr, TrainSummary& summary) {
  const auto now = Clock::now();
  const double elapsed = seconds_between(t_start_, now);
  const double ips = window_.images / std::max(seconds_between(t_window_, now), 1e-9);
  const double eta = elapsed / (step - context_.first_step) * (context_.total_steps - step);
  const double n = static_cast<double>(window_.steps);
  const double loss = window_.total / n, task = window_.task / n, reg = window_.reg / n;
  summary.last_loss = loss;
  summary.last_task_loss = task;
  if (summary.first_loss == 0) {
    summary.first_loss = loss;
    summary.first_task_loss = task;
  }
  if (writes_) {  // rank 0 writes the logs (the figures are already the ranks' mean)
    csv_ << step << "," << epoch << "," << lr << "," << loss << "," << task;
    if (regularized_) csv_ << "," << reg;
    for (int l : cfg_.layers)
      if (cfg_.csg) csv_ << "," << window_.nce[l] / n << "," << window_.top1[l] / n;
    csv_ << "," << ips << "," << elapsed << "\n";
    csv_.flush();
    std::map<std::string, double> scalars = {{"train/loss", loss}, {"train/task", task}, {"train/lr", lr},
                                             {"train/images_per_s", ips}, {"train/epoch", static_cast<double>(epoch)}};
    if (regularized_) scalars["train/reg"] = reg;
    for (int l : cfg_.layers)
      if (cfg_.csg) {
        scalars["train/nce_layer" + std::to_string(l)] = window_.nce[l] / n;
        scalars["train/top1_layer" + std::to_string(l)] = window_.top1[l] / n;
      }
    tb_->add_scalars(step, scalars);
    tb_->flush();
  }
  if (!cfg_.quiet) {
    std::fprintf(stderr, "step %lld/%lld epoch %lld | loss %.4f (task %.4f", static_cast<long long>(step),
                 static_cast<long long>(context_.total_steps), static_cast<long long>(epoch), loss, task);
    if (regularized_) std::fprintf(stderr, ", %s %.4g", name_of(cfg_.regularizer), reg);
    for (int l : cfg_.layers)
      if (cfg_.csg) std::fprintf(stderr, ", nce%d %.3f", l, window_.nce[l] / n);
    std::fprintf(stderr, ") | lr %.2e | %.1f img/s | ETA %s\n", lr, ips, format_seconds(eta).c_str());
  }
  window_ = Window();
  t_window_ = now;
}

void RunLog::add_evaluation(double metric, int64_t step) {
  if (!tb_) return;
  tb_->add_scalar(cfg_.task == Task::Visda ? "val/mean_class_accuracy" : "val/miou", metric, step);
  tb_->flush();
}

}  // namespace csg::train
