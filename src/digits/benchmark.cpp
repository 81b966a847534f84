// src/digits/benchmark.cpp — the embedded syn-to-real benchmark, end to end, with the paper's
// three stages: a prior pretrained on real images (Fashion-MNIST, or Fashion-MNIST plus the UCI
// handwritten digits, for ImageNet), training on
// synthetic images only (digits rendered from fonts), zero-shot evaluation on real images
// (MNIST). The baseline and CSG get the same seed, data and budget; the table reports
// accuracy and hyperspherical energy as the paper's Table 1.
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

void write_table(const std::string& out_dir, const std::string& table) {
  const std::string path = (std::filesystem::path(out_dir) / "table.md").string();
  std::ofstream f(path, std::ios::trunc);
  f << table;
  f.flush();
  CSG_CHECK(f.good(), path, ": write error (disk full?)");
}

// Stages 1-2: the run folder (a new runs/digits-<date>-<time>; an earlier run's folder is
// refused before any work starts, unless --overwrite), the prepared digits and the prior.
void prepare_data_and_prior(DigitsConfig& dc, std::string& data_root, std::string& prior) {
  namespace fs = std::filesystem;
  dc.out_dir = prepare_run_folder(dc.out_dir, "runs", "digits", /*continuing=*/false, dc.overwrite).out_dir;
  std::fprintf(stderr, "[digits] run folder %s\n", dc.out_dir.c_str());
  std::fprintf(stderr, "[digits] 1/4 data: synthetic font digits (train), real MNIST digits (test only)\n");
  data::DigitsOptions opt;
  opt.seed = 0;  // one fixed data set; seeds vary the training
  opt.train_count = dc.train_count;
  opt.val_count = dc.val_count;
  opt.test_count = dc.test_count;
  opt.heldout_count = dc.heldout_count;
  opt.font_files = dc.train_fonts;
  opt.heldout_font_files = dc.heldout_fonts;
  opt.fashion_mnist_dir = dc.fashion_dir;
  opt.mnist_package_dir = dc.mnist_package_dir;
  data::DigitsLayout layout = data::prepare_digits(dc.dir, opt, dc.quiet ? data::DigitsProgress() : data::DigitsProgress(PrepareProgress()));

  PretrainConfig pc = digits_prior_config(dc);
  pc.out_path = prior_cache_path(dc.dir, pc);
  prior = pc.out_path;
  if (!fs::exists(prior)) {
    std::fprintf(stderr, "[digits] 2/4 real-image prior %s: %s (width %lld)\n", dc.prior.c_str(), dc.arch.c_str(),
                 static_cast<long long>(dc.width));
    PretrainResult pr = pretrain_prior(pc);
    for (const auto& [split, acc] : pr.test_accuracies)
      std::fprintf(stderr, "  prior: %.2f%% on %s\n", acc, split.c_str());
    std::fprintf(stderr, "  prior -> %s\n", prior.c_str());
  } else {
    std::fprintf(stderr, "[digits] 2/4 real-image prior: reusing %s\n", prior.c_str());
  }
  data_root = layout.root;
}

}  // namespace

std::string regularizer_row_name(const std::string& r) {
  if (r == "weight-l2") return "Weight l2 distance";
  if (r == "feature-l2") return "Feature l2 distance";
  if (r == "synaptic-intelligence") return "Synaptic Intelligence";
  if (r == "asg-kl") return "ASG (KL to the prior's classifier)";
  CSG_FAIL("unknown regularizer '", r, "' (weight-l2, feature-l2, synaptic-intelligence, asg-kl)");
}

DigitsResult run_digits(const DigitsConfig& requested) {
  namespace fs = std::filesystem;
  DigitsConfig dc = requested;
  for (const std::string& r : dc.regularizers) regularizer_row_name(r);  // an unknown name fails before any work
  // Under mpirun rank 0 alone prepares the run folder, the data and the prior (stages 1-2), then
  // every rank trains its shard of each batch (run_training); rank 0 measures and reports.
  dist::Communicator& comm = dist::world();
  const bool root = comm.rank() == 0;
  std::string data_root, prior;
  const std::string shared = on_root(comm, [&] {
    prepare_data_and_prior(dc, data_root, prior);
    return dc.out_dir + "\n" + data_root + "\n" + prior;
  });
  const size_t a = shared.find('\n'), b = shared.find('\n', a + 1);
  dc.out_dir = shared.substr(0, a);
  data_root = shared.substr(a + 1, b - a - 1);
  prior = shared.substr(b + 1);

  auto base_config = [&](uint64_t seed, bool csg) {
    Config c = default_config(Task::Visda);
    c.data = data_root;
    c.train_split = "train";
    c.val_split = "test_real";
    c.weights = prior;
    c.arch = dc.arch;
    c.width = dc.width;
    c.num_classes = 10;
    c.image_size = 32;
    c.batch_size = dc.batch_size;
    c.epochs = dc.epochs;
    c.lr = dc.lr;
    c.warmup = 20;
    c.csg = csg;
    c.lambda = dc.lambda;
    c.layers = dc.layers;
    c.apool = dc.apool;
    c.randaug_m = dc.randaug_m;
    c.queue_size = dc.queue_size;
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
    c.out_dir = (fs::path(dc.out_dir) / ((csg ? "csg-seed" : "baseline-seed") + std::to_string(seed))).string();
    return c;
  };
  // A Table 1 baseline: the baseline's settings plus one regularizer at its default weight.
  auto regularized_config = [&](uint64_t seed, const std::string& reg) {
    Config c = base_config(seed, false);
    c.regularizer = reg;
    c.out_dir = (fs::path(dc.out_dir) / (reg + "-seed" + std::to_string(seed))).string();
    return c;
  };

  const std::string prior_name = dc.prior == "fashion" ? "Fashion-MNIST prior" : "Fashion-MNIST+UCI prior";
  DigitsRow prior_row{prior_name + " (no digit training)", {}, {}, {}, {}, {}};
  DigitsRow base_row{"baseline (synthetic only)", {}, {}, {}, {}, {}};
  DigitsRow csg_row{"CSG", {}, {}, {}, {}, {}};
  std::vector<DigitsRow> reg_rows;
  for (const std::string& r : dc.regularizers) reg_rows.push_back({regularizer_row_name(r), {}, {}, {}, {}, {}});
  auto all_rows = [&] {
    std::vector<DigitsRow> rows = {prior_row, base_row, csg_row};
    rows.insert(rows.end(), reg_rows.begin(), reg_rows.end());
    return rows;
  };
  std::vector<uint64_t> seeds;
  std::vector<SphereFeatures> sphere;  // the first seed's features per model (Figure 2)
  std::vector<TrainingRunLog> logs;
  auto measure_energy = [&](DigitsRow& row, const Config& c, const std::string& checkpoint, const std::string& panel) {
    if (!root) return;  // rank 0 measures (the checkpoint is its own)
    PooledFeatures f = pooled_layer4_features(c, checkpoint, dc.hse_images);
    HypersphericalEnergies e = hyperspherical_energies(f.features);
    row.e0.push_back(e.e0);
    row.e1.push_back(e.e1);
    row.e2.push_back(e.e2);
    if (c.seed == dc.seed && !panel.empty()) sphere.push_back({panel, f.features, f.labels, e.e0});
  };
  measure_energy(prior_row, base_config(dc.seed, false), "", prior_name);
  // Trains one model of `row` and measures it: real MNIST (the run's own evaluation), the held-out
  // fonts, the energies; `panel` names it in the figures (empty: not drawn, not announced).
  // False when a signal stopped the training (nothing of it is measured then; stop_signal says which).
  int stop_signal = 0;
  auto train_and_measure = [&](DigitsRow& row, const Config& c, const std::string& panel) {
    TrainSummary s = run_training(c);
    stop_signal = s.stop_signal;
    if (s.interrupted) return false;
    row.acc.push_back(s.metric);
    Config fonts = c;  // the same model on digits from faces training never saw
    fonts.val_split = "test_fonts";
    if (root && !panel.empty())
      std::fprintf(stderr, "[digits] seed %llu: %s on the held-out fonts\n", static_cast<unsigned long long>(c.seed),
                   panel.c_str());
    row.fonts_acc.push_back(run_evaluation(fonts, s.final_checkpoint));
    measure_energy(row, c, s.final_checkpoint, panel);
    return true;
  };
  // A signal (SIGINT/SIGTERM) stops the job after the current training step: the seed it was in is
  // dropped whole (each row keeps its entries of the finished seeds), so the table and the paired
  // differences hold finished seeds only.
  auto stopped = [&](uint64_t seed, const std::string& model) {
    seeds.pop_back();
    auto keep_finished = [&](DigitsRow& row) {
      for (std::vector<double>* v : {&row.acc, &row.fonts_acc, &row.e0, &row.e1, &row.e2})
        if (v->size() > seeds.size()) v->resize(seeds.size());
    };
    keep_finished(base_row), keep_finished(csg_row);
    for (DigitsRow& row : reg_rows) keep_finished(row);
    if (root) {
      if (!seeds.empty()) write_table(dc.out_dir, digits_table(dc, all_rows(), seeds));
      std::fprintf(stderr,
                   "[digits] stopped by a signal in seed %llu (%s); %s. A digits job does not resume: a new one "
                   "trains each seed from the start (--seed %llu --seeds N continues from this seed)\n",
                   static_cast<unsigned long long>(seed), model.c_str(),
                   seeds.empty() ? "no seed had finished, so there is no table"
                                 : ("the table of the " + std::to_string(seeds.size()) + " finished seed(s) is in " +
                                    (fs::path(dc.out_dir) / "table.md").string())
                                       .c_str(),
                   static_cast<unsigned long long>(seed));
    }
    return DigitsResult{all_rows(), true, stop_signal};
  };
  for (int k = 0; k < dc.seeds; ++k) {
    const uint64_t seed = dc.seed + k;
    seeds.push_back(seed);
    for (bool csg : {false, true}) {
      if (root)
        std::fprintf(stderr, "[digits] %d/4 seed %llu: %s on synthetic digits, evaluated on real MNIST\n", csg ? 4 : 3,
                   static_cast<unsigned long long>(seed), csg ? "CSG" : "baseline");
      Config c = base_config(seed, csg);
      if (!train_and_measure(csg ? csg_row : base_row, c, csg ? "CSG" : "baseline"))
        return stopped(seed, csg ? "CSG" : "baseline");
      logs.push_back({csg ? "CSG" : "baseline", seed, c.out_dir + "/log.csv"});
    }
    for (size_t i = 0; i < dc.regularizers.size(); ++i) {  // Table 1's baselines (none by default)
      const std::string& reg = dc.regularizers[i];
      if (root)
        std::fprintf(stderr, "[digits] seed %llu: baseline + %s on synthetic digits, evaluated on real MNIST\n",
                     static_cast<unsigned long long>(seed), reg.c_str());
      if (!train_and_measure(reg_rows[i], regularized_config(seed, reg), ""))  // no panel in the figures
        return stopped(seed, "baseline + " + reg);
    }
    // The table so far, after every seed: a long run that is stopped keeps the seeds it finished.
    if (root) write_table(dc.out_dir, digits_table(dc, all_rows(), seeds));
  }
  const std::vector<DigitsRow> rows = all_rows();
  if (!root) return {rows, false};
  const std::string table = digits_table(dc, rows, seeds);
  std::printf("\n%s", table.c_str());
  const DigitsFigurePaths fig = write_digits_figures(dc.out_dir, logs, sphere);
  std::printf("figures: %s (training curves)\n         %s (Figure 2: real-digit features on the circle, seed %llu)\n"
              "         %s (the same, by class)\n",
              fig.curves.c_str(), fig.sphere.c_str(), static_cast<unsigned long long>(dc.seed),
              fig.sphere_classes.c_str());
  return {rows, false};
}

}  // namespace csg::train
