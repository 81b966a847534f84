// src/digits/benchmark.cpp — the embedded syn-to-real benchmark, end to end, with the paper's
// three stages: a prior pretrained on real images (the real digits the task never scores, with or
// without Fashion-MNIST, or Fashion-MNIST alone), training on synthetic images only (digits 5-9
// rendered from fonts), zero-shot evaluation on real images (MNIST 5-9). Every model gets the same
// seed, data and budget; the table reports accuracy and hyperspherical energy as the paper's
// Table 1, with the premise rows (the prior frozen, no prior at all) beside the baseline and CSG.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "csg/digits/data.h"
#include "csg/metrics.h"
#include "csg/progress.h"
#include "csg/digits/benchmark.h"
#include "csg/train.h"
#include "csg/distributed.h"
#include "src/digits/figures.h"
#include "src/digits/table.h"
#include "src/train/data_parallel.h"
#include "src/train/evaluate.h"
#include "src/digits/pretrain.h"
#include "src/train/run_folder.h"

namespace csg::train {

namespace {

// One progress bar per preparation stage ("train", "val_synthetic", "test_real", "fashion_mnist").
class PrepareProgress {
 public:
  void operator()(const std::string& stage, int64_t done, int64_t total) {
    if (stage != stage_) {
      bar_ = std::make_shared<ProgressBar>("preparing " + stage, total);
      stage_ = stage;
    }
    bar_->update(done);
  }

 private:
  std::string stage_;
  std::shared_ptr<ProgressBar> bar_;  // shared: std::function copies its target
};

void write_text(const std::string& out_dir, const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::path(out_dir) / name).string();
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.flush();
  CSG_CHECK(f.good(), path, ": write error (disk full?)");
}

// The numbers of the table, one line per (seed, model), for scripts (tools/digits/).
std::string results_csv(const std::vector<DigitsRow>& rows, const std::vector<uint64_t>& seeds) {
  std::string csv = "seed,model,val_synthetic,heldout_fonts,real,e0,e1,e2\n";
  auto cell = [](const std::vector<double>& v, size_t i) {
    char buf[32];
    if (i >= v.size()) return std::string();
    std::snprintf(buf, sizeof buf, "%.4f", v[i]);
    return std::string(buf);
  };
  for (size_t i = 0; i < seeds.size(); ++i)
    for (const DigitsRow& r : rows) {
      if (r.key == "prior" || r.val_acc.size() <= i) continue;
      csv += std::to_string(seeds[i]) + "," + r.key + "," + cell(r.val_acc, i) + "," + cell(r.fonts_acc, i) + "," +
             cell(r.acc, i) + "," + cell(r.e0, i) + "," + cell(r.e1, i) + "," + cell(r.e2, i) + "\n";
    }
  return csv;
}

// Stages 1-2: the run folder (a new runs/digits-<date>-<time>; an earlier run's folder is
// refused before any work starts, unless --overwrite), the prepared digits and the prior.
void prepare_data_and_prior(DigitsConfig& dc, std::string& data_root, std::string& prior) {
  namespace fs = std::filesystem;
  dc.out_dir = prepare_run_folder(dc.out_dir, "runs", "digits", /*continuing=*/false, dc.overwrite).out_dir;
  std::fprintf(stderr, "[digits] run folder %s\n", dc.out_dir.c_str());
  std::fprintf(stderr, "[digits] 1/4 data: synthetic font digits 5-9 (train), real MNIST digits 5-9 (test only)\n");
  data::DigitsOptions opt;
  opt.seed = 0;  // one fixed data set; seeds vary the training
  opt.train_count = dc.train_count;
  opt.val_count = dc.val_count;
  opt.test_count = dc.test_count;
  opt.heldout_count = dc.heldout_count;
  opt.font_files = dc.train_fonts;
  opt.heldout_font_files = dc.heldout_fonts;
  opt.fashion_mnist = data::prior_uses_fashion(dc.prior);
  opt.fashion_mnist_dir = dc.fashion_dir;
  opt.mnist_package_dir = dc.mnist_package_dir;
  data::DigitsLayout layout = data::prepare_digits(dc.dir, opt, dc.quiet ? data::DigitsProgress() : data::DigitsProgress(PrepareProgress()));

  PretrainConfig pc = digits_prior_config(dc);
  pc.mnist_package = layout.mnist_package;
  pc.out_path = prior_cache_path(dc.dir, pc);
  prior = pc.out_path;
  if (!fs::exists(prior)) {
    std::fprintf(stderr, "[digits] 2/4 real-image prior %s: %s (width %lld, %s stem)\n", dc.prior.c_str(),
                 name_of(dc.arch), static_cast<long long>(dc.width), name_of(dc.stem));
    PretrainResult pr = pretrain_prior(pc);
    for (const auto& [split, acc] : pr.test_accuracies)
      std::fprintf(stderr, "  prior: %.2f%% on %s\n", acc, split.c_str());
    std::fprintf(stderr, "  prior -> %s\n", prior.c_str());
  } else {
    std::fprintf(stderr, "[digits] 2/4 real-image prior: reusing %s\n", prior.c_str());
  }
  data_root = layout.root;
}

std::string prior_row_name(const std::string& kind) {
  if (kind == "digits") return "prior: real digits 0-4 (no training on 5-9)";
  if (kind == "fashion+digits") return "prior: Fashion-MNIST + real digits 0-4 (no training on 5-9)";
  return "prior: Fashion-MNIST (no digit training)";
}

std::string model_row_name(const std::string& model) {
  if (model == "prior-frozen") return "prior, frozen (head trained on synthetic)";
  if (model == "random-init") return "baseline from random initialisation";
  if (model == "baseline") return "baseline (synthetic only)";
  return "CSG";
}

}  // namespace

const std::vector<std::string>& digits_model_names() {
  static const std::vector<std::string> names = {"prior-frozen", "random-init", "baseline", "csg"};
  return names;
}

DigitsSettings matched_digits_settings(int64_t steps, int64_t train_count, int64_t batch_size) {
  CSG_CHECK(steps > 0 && train_count > 0 && batch_size > 0, "matched settings: ", steps, " steps, ", train_count,
            " images, batch ", batch_size);
  constexpr double kRefSteps = 142860, kRefImages = 152397, kRefQueue = 65536, kRefEmaSteps = 1000, kRefLr = 1e-4;
  DigitsSettings s;
  const double tau = std::max(1.0, kRefEmaSteps * steps / kRefSteps);  // steps of the key heads' memory
  s.ema = 1.0 - 1.0 / tau;
  const int64_t keys = static_cast<int64_t>(kRefQueue / kRefImages * train_count);
  s.queue_size = std::max<int64_t>(1, keys / batch_size) * batch_size;
  s.lr = kRefLr * kRefSteps / steps;
  return s;
}

DigitsSettings resolved_digits_settings(const DigitsConfig& dc) {
  const int64_t steps = dc.epochs * (dc.train_count / dc.batch_size);
  const DigitsSettings m = matched_digits_settings(std::max<int64_t>(1, steps), dc.train_count, dc.batch_size);
  return {dc.lr > 0 ? dc.lr : m.lr, dc.ema >= 0 ? dc.ema : m.ema, dc.queue_size > 0 ? dc.queue_size : m.queue_size};
}

std::string regularizer_row_name(const std::string& r) {
  if (r == "weight-l2") return "Weight l2 distance";
  if (r == "feature-l2") return "Feature l2 distance";
  if (r == "synaptic-intelligence") return "Synaptic Intelligence";
  if (r == "asg-kl") return "ASG (KL to the prior's classifier)";
  CSG_FAIL("unknown regularizer '", r, "' (weight-l2, feature-l2, synaptic-intelligence, asg-kl)");
}

namespace {

// One model's training configuration: `name` ("prior-frozen", "random-init", "baseline", "csg" or a
// Table 1 regularizer) is its folder prefix.
Config model_config(const DigitsConfig& dc, const DigitsSettings& settings, const std::string& data_root,
                    const std::string& prior, uint64_t seed, const std::string& name) {
  Config c = default_config(Task::Visda);
  c.data = data_root;
  c.train_split = "train";
  // The split a run scores itself on: the real digits, or val_synthetic when they may not be read.
  c.val_split = dc.validation_only ? "val_synthetic" : "test_real";
  c.weights = name == "random-init" ? "" : prior;
  c.arch = dc.arch;
  c.width = dc.width;
  c.stem = dc.stem;
  c.num_classes = data::kScoredClasses;
  for (int digit : data::kScoredDigits) c.class_names.push_back(std::to_string(digit));  // for csg predict
  c.image_size = 32;
  c.batch_size = dc.batch_size;
  c.epochs = dc.epochs;
  c.lr = settings.lr;
  c.factor = name == "prior-frozen" ? 0.0 : dc.factor;  // 0: the backbone is frozen (network.cpp)
  c.warmup = 20;
  c.csg = name == "csg";
  c.lambda = dc.lambda;
  c.layers = dc.layers;
  c.apool = dc.apool;
  c.randaug_m = dc.randaug_m;
  c.randaug_geometry = dc.randaug_geometry;
  c.queue_size = settings.queue_size;
  c.ema_momentum = settings.ema;
  c.seed = seed;
  // One view at test time: VisDA's flip averaging (the reference's) would score mirrored digits,
  // which are other shapes or none (a mirrored 2, 3, 7), not the same object seen from the side.
  c.flip_tta = false;
  c.device = dc.device;
  c.workers = dc.workers;
  c.log_every = 25;
  c.checkpoint_every = 1 << 30;  // the final checkpoint only
  c.keep_checkpoints = 1;
  c.quiet = dc.quiet;
  c.out_dir = (std::filesystem::path(dc.out_dir) / (name + "-seed" + std::to_string(seed))).string();
  // A Table 1 baseline: the baseline's settings plus one regularizer at its default weight.
  if (std::find(dc.regularizers.begin(), dc.regularizers.end(), name) != dc.regularizers.end()) c.regularizer = method::parse_regularizer(name);
  return c;
}

// The job of run_digits: its settings, the prepared data and prior, and the table's rows as the
// seeds finish.
class DigitsJob {
 public:
  // Checks the names, then stages 1-2 on rank 0 (the run folder, the data, the prior); every rank
  // learns where they are.
  explicit DigitsJob(const DigitsConfig& requested);
  // The prior's own energies (the table's first row).
  void measure_prior();
  // Every model of one seed (the four of the table, then Table 1's baselines). False when a
  // signal stopped a training.
  bool run_seed(uint64_t seed);
  // The end of a job a signal stopped: the table of the finished seeds.
  DigitsResult stopped();
  // The table, the figures.
  DigitsResult finish();

 private:
  bool train_and_measure(DigitsRow& row, const Config& c, const std::string& panel);
  void measure_energy(DigitsRow& row, const Config& c, const std::string& checkpoint, const std::string& panel);
  DigitsRow& row_of(const std::string& key);
  void write_tables() const;

  DigitsConfig dc_;
  DigitsSettings settings_;
  bool root_ = true;
  std::string data_root_, prior_;
  std::vector<DigitsRow> rows_;
  std::vector<uint64_t> seeds_;
  std::vector<SphereFeatures> sphere_;  // the first seed's features per model (Figure 2)
  std::vector<TrainingRunLog> logs_;
  int stop_signal_ = 0;
  std::string stopped_in_;  // the model a signal stopped
};

DigitsJob::DigitsJob(const DigitsConfig& requested) : dc_(requested) {
  for (const std::string& r : dc_.regularizers) regularizer_row_name(r);  // an unknown name fails before any work
  const std::vector<std::string>& known = digits_model_names();
  for (const std::string& m : dc_.models)
    CSG_CHECK(std::find(known.begin(), known.end(), m) != known.end(), "unknown digits model '", m,
              "' (prior-frozen, random-init, baseline, csg)");
  settings_ = resolved_digits_settings(dc_);
  // Under mpirun rank 0 alone prepares the run folder, the data and the prior (stages 1-2), then
  // every rank trains its shard of each batch (run_training); rank 0 measures and reports.
  dist::Communicator& comm = dist::world();
  root_ = comm.rank() == 0;
  const std::string shared = on_root(comm, [&] {
    prepare_data_and_prior(dc_, data_root_, prior_);
    return dc_.out_dir + "\n" + data_root_ + "\n" + prior_;
  });
  const size_t a = shared.find('\n'), b = shared.find('\n', a + 1);
  dc_.out_dir = shared.substr(0, a);
  data_root_ = shared.substr(a + 1, b - a - 1);
  prior_ = shared.substr(b + 1);
  rows_.push_back({prior_row_name(dc_.prior), "prior", {}, {}, {}, {}, {}, {}});
  for (const std::string& m : known) rows_.push_back({model_row_name(m), m, {}, {}, {}, {}, {}, {}});
  for (const std::string& r : dc_.regularizers) rows_.push_back({regularizer_row_name(r), r, {}, {}, {}, {}, {}, {}});
}

DigitsRow& DigitsJob::row_of(const std::string& key) {
  for (DigitsRow& r : rows_)
    if (r.key == key) return r;
  CSG_FAIL("digits: no row ", key);
}

// Energies of the real digits' features: never in validation_only (the real digits are not read).
void DigitsJob::measure_energy(DigitsRow& row, const Config& c, const std::string& checkpoint,
                               const std::string& panel) {
  if (!root_ || dc_.validation_only) return;  // rank 0 measures (the checkpoint is its own)
  PooledFeatures f = pooled_layer4_features(c, checkpoint, dc_.hse_images);
  HypersphericalEnergies e = hyperspherical_energies(f.features);
  row.e0.push_back(e.e0);
  row.e1.push_back(e.e1);
  row.e2.push_back(e.e2);
  if (c.seed == dc_.seed && !panel.empty()) sphere_.push_back({panel, f.features, f.labels, e.e0});
}

void DigitsJob::measure_prior() {
  Config c = model_config(dc_, settings_, data_root_, prior_, dc_.seed, "baseline");
  c.val_split = "test_real";
  measure_energy(rows_[0], c, "", "prior");
}

// Trains one model of `row` and measures it: its own split (the run's evaluation), the other
// splits, the energies; `panel` names it in the figures (empty: not drawn). False when a signal
// stopped the training (nothing of it is measured then; stop_signal_ says which).
bool DigitsJob::train_and_measure(DigitsRow& row, const Config& c, const std::string& panel) {
  TrainSummary s = run_training(c);
  stop_signal_ = s.stop_signal;
  if (s.interrupted) return false;
  auto score_on = [&](const std::string& split) {
    if (split == c.val_split) return s.metric;
    Config other = c;
    other.val_split = split;
    if (root_ && !dc_.quiet)
      std::fprintf(stderr, "[digits] seed %llu: %s on %s\n", static_cast<unsigned long long>(c.seed),
                   row.model.c_str(), split.c_str());
    return run_evaluation(other, s.final_checkpoint);
  };
  row.val_acc.push_back(score_on("val_synthetic"));
  row.fonts_acc.push_back(score_on("test_fonts"));
  if (!dc_.validation_only) row.acc.push_back(score_on("test_real"));
  Config real = c;
  real.val_split = "test_real";
  measure_energy(row, real, s.final_checkpoint, panel);
  return true;
}

bool DigitsJob::run_seed(uint64_t seed) {
  seeds_.push_back(seed);
  int step = 0;
  const size_t models = dc_.models.size() + dc_.regularizers.size();
  for (const std::string& m : digits_model_names()) {
    if (std::find(dc_.models.begin(), dc_.models.end(), m) == dc_.models.end()) continue;
    DigitsRow& row = row_of(m);
    if (root_)
      std::fprintf(stderr, "[digits] seed %llu, model %d/%zu: %s, on synthetic digits 5-9\n",
                   static_cast<unsigned long long>(seed), ++step, models, row.model.c_str());
    const Config c = model_config(dc_, settings_, data_root_, prior_, seed, m);
    const std::string panel = m == "baseline" ? "baseline" : m == "csg" ? "CSG" : "";
    stopped_in_ = row.model;
    if (!train_and_measure(row, c, panel)) return false;
    if (m == "baseline" || m == "csg") logs_.push_back({m == "csg" ? "CSG" : "baseline", seed, c.out_dir + "/log.csv"});
  }
  for (const std::string& reg : dc_.regularizers) {  // Table 1's baselines (none by default)
    if (root_)
      std::fprintf(stderr, "[digits] seed %llu, model %d/%zu: baseline + %s, on synthetic digits 5-9\n",
                   static_cast<unsigned long long>(seed), ++step, models, reg.c_str());
    stopped_in_ = "baseline + " + reg;
    if (!train_and_measure(row_of(reg), model_config(dc_, settings_, data_root_, prior_, seed, reg), ""))
      return false;  // no panel in the figures
  }
  // The table so far, after every seed: a long run that is stopped keeps the seeds it finished.
  if (root_) write_tables();
  return true;
}

void DigitsJob::write_tables() const {
  write_text(dc_.out_dir, "table.md", digits_table(dc_, settings_, rows_, seeds_));
  write_text(dc_.out_dir, "results.csv", results_csv(rows_, seeds_));
}

// A signal (SIGINT/SIGTERM) stops the job after the current training step: the seed it was in is
// dropped whole (each row keeps its entries of the finished seeds), so the table and the paired
// differences hold finished seeds only.
DigitsResult DigitsJob::stopped() {
  const uint64_t seed = seeds_.back();
  seeds_.pop_back();
  for (DigitsRow& row : rows_)
    for (std::vector<double>* v : {&row.val_acc, &row.fonts_acc, &row.acc, &row.e0, &row.e1, &row.e2})
      if (row.key != "prior" && v->size() > seeds_.size()) v->resize(seeds_.size());
  if (root_) {
    if (!seeds_.empty()) write_tables();
    std::fprintf(stderr,
                 "[digits] stopped by a signal in seed %llu (%s); %s. A digits job does not resume: a new one "
                 "trains each seed from the start (--seed %llu --seeds N continues from this seed)\n",
                 static_cast<unsigned long long>(seed), stopped_in_.c_str(),
                 seeds_.empty() ? "no seed had finished, so there is no table"
                                : ("the table of the " + std::to_string(seeds_.size()) + " finished seed(s) is in " +
                                   (std::filesystem::path(dc_.out_dir) / "table.md").string())
                                      .c_str(),
                 static_cast<unsigned long long>(seed));
  }
  return DigitsResult{rows_, true, stop_signal_};
}

DigitsResult DigitsJob::finish() {
  if (!root_) return {rows_, false};
  std::printf("\n%s", digits_table(dc_, settings_, rows_, seeds_).c_str());
  if (!logs_.empty() && !sphere_.empty()) {
    const DigitsFigurePaths fig = write_digits_figures(dc_.out_dir, logs_, sphere_);
    std::printf("figures: %s (training curves)\n         %s (Figure 2: real-digit features on the circle, seed %llu)\n"
                "         %s (the same, by class)\n",
                fig.curves.c_str(), fig.sphere.c_str(), static_cast<unsigned long long>(dc_.seed),
                fig.sphere_classes.c_str());
  }
  return {rows_, false};
}

}  // namespace

// The paper's three stages: the prior (stage 1), training on synthetic digits (2), zero-shot on
// real digits (3), for every model and seed alike.
DigitsResult run_digits(const DigitsConfig& requested) {
  DigitsJob job(requested);
  job.measure_prior();
  for (int k = 0; k < requested.seeds; ++k)
    if (!job.run_seed(requested.seed + k)) return job.stopped();
  return job.finish();
}

}  // namespace csg::train
