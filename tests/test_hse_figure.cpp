// tests/test_hse_figure.cpp — `csg hse --figure` (src/figures/hse_figure.h): several models on
// the tiny VisDA layout, one sphere panel each (csg/sphere_figure.h's geometry), the energies
// equal to run_hse's, and the command writing both PNGs.
#include <cmath>
#include <filesystem>

#include "csg/data/tiny.h"
#include "csg/image.h"
#include "csg/sphere_figure.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;

namespace {

train::Config tiny_config(const std::string& data, uint64_t seed) {
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.arch = train::Arch::ResNet18;
  c.width = 8;
  c.image_size = 32;
  c.batch_size = 8;
  c.workers = 1;
  c.quiet = true;
  c.seed = seed;
  return c;
}

}  // namespace

TEST(HseFigure, OnePanelPerModelAndTheEnergiesOfRunHse) {
  csg::testing::TempDir tmp;
  data::write_tiny_visda(tmp.str(), 0, 12, 24);
  const std::vector<figures::HseModel> models = {{tiny_config(tmp.str(), 0), ""}, {tiny_config(tmp.str(), 1), ""}};
  const std::string figure = tmp / "figs/sphere.png";
  const std::vector<figures::HseResult> r = figures::run_hse_models(models, 20, figure);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].images, 20);
  EXPECT_EQ(r[0].title, "random init");
  const std::vector<double> direct = train::run_hse(models[1].cfg, "", 20);
  EXPECT_NEAR(r[1].e0, direct[0], 1e-9 * std::fabs(direct[0]));
  EXPECT_NE(r[0].e0, r[1].e0);  // two initialisations, two feature sets
  for (const std::string& path : {figure, figures::classes_figure_path(figure)}) {
    const image::Image im = image::load(path);
    EXPECT_EQ(im.width, 2 * plot::kSpherePanelW + plot::kSphereSideW) << path;
    EXPECT_EQ(im.height, plot::kSpherePanelH) << path;
  }
  EXPECT_EQ(figures::classes_figure_path("out/fig2.png"), "out/fig2_classes.png");
}

TEST(HseFigure, CommandWritesTheFigure) {
  csg::testing::TempDir tmp;
  data::write_tiny_visda(tmp.str(), 0, 12, 24);
  const std::string figure = tmp / "fig.png";
  std::vector<std::string> args = {"csg", "hse", "--data", tmp.str(), "--weights", "none", "--device", "cpu",
                                   "--arch", "resnet18", "--width", "8",
                                   "--image-size", "32", "--max-images", "12", "--quiet", "--figure", figure};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  const int status = cli::run_cli(static_cast<int>(argv.size()), argv.data());
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("E0 "), std::string::npos) << out;
  const image::Image im = image::load(figure);
  EXPECT_EQ(im.width, plot::kSpherePanelW + plot::kSphereSideW);
  EXPECT_EQ(im.height, plot::kSpherePanelH);
  EXPECT_TRUE(std::filesystem::exists(tmp / "fig_classes.png"));
}
