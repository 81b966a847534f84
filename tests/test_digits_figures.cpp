// tests/test_digits_figures.cpp — the digits benchmark's figures from small synthetic logs and
// features, and the pooled-feature collection that run_hse and the sphere figure share.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "csg/data/tiny.h"
#include "csg/image.h"
#include "csg/plot.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// Features of `n` rows: a shared direction plus noise of size `spread` (small: collapsed).
train::SphereFeatures fake_features(const std::string& name, int64_t n, int64_t d, double spread, uint64_t seed) {
  Tensor noise = csg::testing::uniform({n, d}, seed, DType::F32, -1.0, 1.0);
  std::vector<float> v = noise.to_float_vector();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) v[i * d + k] = static_cast<float>(1.0 + spread * v[i * d + k]);
  train::SphereFeatures f;
  f.model = name;
  f.features = from_vector(v, {n, d});
  for (int64_t i = 0; i < n; ++i) f.labels.push_back(i % 10);
  f.e0 = hyperspherical_energies(f.features).e0;
  return f;
}

bool near(const uint8_t* p, plot::Color c, int tol) {
  return std::abs(p[0] - c.r) <= tol && std::abs(p[1] - c.g) <= tol && std::abs(p[2] - c.b) <= tol;
}

// Pixels of colour c (within tol) in columns [x0, x1) of the image.
int count_color(const image::Image& im, int x0, int x1, plot::Color c, int tol = 2) {
  int n = 0;
  for (int y = 0; y < im.height; ++y)
    for (int x = x0; x < x1; ++x) n += near(im.at(x, y), c, tol);
  return n;
}

}  // namespace

TEST(DigitsFigures, ReadTrainingLogColumns) {
  csg::testing::TempDir tmp;
  write_text(tmp / "log.csv", "step,epoch,loss,nce_layer3\n25,0,2.5,7.1\n50,0,2.25,\n75,1,x,6.5\n");
  const auto log = train::read_training_log(tmp / "log.csv");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log.at("step"), (std::vector<double>{25, 50, 75}));
  EXPECT_DOUBLE_EQ(log.at("loss")[1], 2.25);
  EXPECT_TRUE(std::isnan(log.at("loss")[2]));  // unparsable
  EXPECT_TRUE(std::isnan(log.at("nce_layer3")[1]));  // empty cell
  EXPECT_DOUBLE_EQ(log.at("nce_layer3")[2], 6.5);
  try {
    train::read_training_log(tmp / "missing.csv");
    FAIL() << "a missing log must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.csv"), std::string::npos) << e.what();
  }
}

TEST(DigitsFigures, WritesCurvesAndSphereFigures) {
  csg::testing::TempDir tmp;
  const std::string base = "step,epoch,lr,loss,task,images_per_s,elapsed_s\n";
  const std::string csg = "step,epoch,lr,loss,task,nce_layer3,top1_layer3,nce_layer4,top1_layer4,images_per_s,elapsed_s\n";
  std::string b0 = base, b1 = base, c0 = csg;
  for (int s = 25; s <= 300; s += 25) {
    const double t = 2.3 * std::exp(-s / 200.0);
    b0 += std::to_string(s) + ",0,0.05," + std::to_string(t) + "," + std::to_string(t) + ",100,1\n";
    b1 += std::to_string(s) + ",0,0.05," + std::to_string(t + 0.1) + "," + std::to_string(t + 0.1) + ",100,1\n";
    c0 += std::to_string(s) + ",0,0.05," + std::to_string(t + 0.8) + "," + std::to_string(t + 0.05) + "," +
          std::to_string(7.0 - s / 100.0) + ",0.3," + std::to_string(6.5 - s / 100.0) + ",0.4,100,1\n";
  }
  write_text(tmp / "baseline-seed0/log.csv", b0);
  write_text(tmp / "baseline-seed1/log.csv", b1);
  write_text(tmp / "csg-seed0/log.csv", c0);
  std::vector<train::TrainingRunLog> runs = {{"baseline", 0, tmp / "baseline-seed0/log.csv"},
                                             {"baseline", 1, tmp / "baseline-seed1/log.csv"},
                                             {"CSG", 0, tmp / "csg-seed0/log.csv"}};
  const int64_t n = 80, d = 12;
  std::vector<train::SphereFeatures> models = {fake_features("prior", n, d, 0.5, 1),
                                               fake_features("baseline", n, d, 1.0, 2),
                                               fake_features("CSG", n, d, 3.0, 3)};
  EXPECT_GT(models[0].e0, models[2].e0);  // collapsed features: higher energy

  const train::DigitsFigurePaths paths = train::write_digits_figures(tmp / "figs", runs, models);
  EXPECT_EQ(paths.curves, tmp / "figs/curves.png");
  EXPECT_EQ(paths.sphere, tmp / "figs/figure2_sphere.png");

  const image::Image curves = image::load(paths.curves);
  ASSERT_EQ(curves.width, 1440);
  ASSERT_EQ(curves.height, 560);
  const int half = curves.width / 2;
  EXPECT_GT(count_color(curves, 0, half, plot::category_color(0)), 200);  // baseline lines, left panel
  EXPECT_GT(count_color(curves, 0, half, plot::category_color(1)), 100);  // CSG line, left panel
  EXPECT_GT(count_color(curves, half, curves.width, plot::category_color(2)), 100);  // layer3 NCE, right
  EXPECT_GT(count_color(curves, half, curves.width, plot::category_color(3)), 100);  // layer4 NCE, right
  EXPECT_EQ(count_color(curves, half, curves.width, plot::category_color(0)), 0);  // no baseline there

  const image::Image sphere = image::load(paths.sphere);
  ASSERT_EQ(sphere.height, 92 + 340 + 24);
  ASSERT_EQ(sphere.width, 3 * 420 + 150);
  // Each panel is scaled to its own peak, so how many pixels are above ~0.6 of the peak
  // (viridis: green > 160, blue < 130; the see-through white circle is bluer) measures how far
  // the features spread over the circle: the collapsed prior's arc is the smallest.
  auto bright = [&](int panel) {
    int n = 0;
    for (int y = 0; y < sphere.height; ++y)
      for (int x = 420 * panel; x < 420 * (panel + 1); ++x) n += sphere.at(x, y)[1] > 160 && sphere.at(x, y)[2] < 130;
    return n;
  };
  EXPECT_GT(bright(0), 0);
  EXPECT_LT(bright(0), bright(1));
  EXPECT_LT(3 * bright(0), bright(2));
  EXPECT_GT(count_color(sphere, 0, 420 * 3, plot::viridis(1.0), 12), 0);  // the peak colour is used
  const image::Image classes = image::load(paths.sphere_classes);
  EXPECT_EQ(classes.width, sphere.width);
  int class_colours = 0;
  for (int c = 0; c < 10; ++c) {  // a lone dot's centre: the class colour at alpha 0.35 over white
    const plot::Color k = plot::category_color(c);
    auto over_white = [](uint8_t v) { return static_cast<uint8_t>(std::lround(255 + 0.35 * (v - 255))); };
    class_colours += count_color(classes, 0, 3 * 420, {over_white(k.r), over_white(k.g), over_white(k.b)}, 3) > 0;
  }
  EXPECT_EQ(class_colours, 10);

  // All models must share the feature width (one projection).
  models[1] = fake_features("baseline", n, d + 1, 0.4, 2);
  EXPECT_THROW(train::write_digits_figures(tmp / "figs", runs, models), Error);
}

TEST(DigitsFigures, PooledFeaturesAreWhatRunHseMeasures) {
  csg::testing::TempDir tmp;
  data::write_tiny_visda(tmp.str(), 0, 12, 24);
  train::Config c = train::default_config(train::Task::Visda);
  c.data = tmp.str();
  c.arch = train::Arch::ResNet18;
  c.width = 8;
  c.image_size = 32;
  c.batch_size = 8;
  c.workers = 1;
  c.quiet = true;
  const train::PooledFeatures f = train::pooled_layer4_features(c, "", 20);
  ASSERT_EQ(f.features.dim(), 2);
  EXPECT_EQ(f.features.size(0), 20);
  EXPECT_EQ(f.features.size(1), 8 * 8);  // resnet18 layer4: 8 x width channels
  ASSERT_EQ(f.labels.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f.labels[i], i % 12) << i;  // sample i has class i % 12
  const std::vector<double> e = train::run_hse(c, "", 20);
  const HypersphericalEnergies direct = hyperspherical_energies(f.features);
  EXPECT_NEAR(e[0], direct.e0, 1e-9 * std::fabs(direct.e0));
  EXPECT_NEAR(e[2], direct.e2, 1e-9 * std::fabs(direct.e2));
}
