// tests/test_segment_panels.cpp — `csg segment` (csg/figures.h): Cityscapes colours for train
// ids (the official palette, ignore black), the panel layout, and the command on the tiny
// Cityscapes layout with its ground truth.
#include <filesystem>

#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/figures.h"
#include "csg/models/deeplab.h"
#include "tests/testing.h"

using namespace csg;

namespace {

image::LabelMap label_map(int w, int h, const std::vector<uint8_t>& values) {
  image::LabelMap m;
  m.width = w, m.height = h, m.values = values;
  return m;
}

std::array<uint8_t, 3> rgb(const image::Image& im, int x, int y) { return {im.at(x, y)[0], im.at(x, y)[1], im.at(x, y)[2]}; }

}  // namespace

TEST(SegmentPanels, CityscapesPaletteColoursTrainIds) {
  // Train ids road 0, sidewalk 1, sky 10, person 11, car 13, bicycle 18, ignore 255.
  const image::LabelMap m = label_map(7, 1, {0, 1, 10, 11, 13, 18, 255});
  const image::Image c = data::colorize(m, data::train_id_palette(19));
  ASSERT_EQ(c.width, 7);
  ASSERT_EQ(c.height, 1);
  const std::vector<std::array<uint8_t, 3>> want = {{128, 64, 128}, {244, 35, 232}, {70, 130, 180}, {220, 20, 60},
                                                    {0, 0, 142},     {119, 11, 32},  {0, 0, 0}};
  for (int x = 0; x < 7; ++x) EXPECT_EQ(rgb(c, x, 0), want[x]) << "train id " << int(m.values[x]);
}

TEST(SegmentPanels, PanelsSitSideBySideUnderTitles) {
  image::Image im;
  im.width = 5, im.height = 4;
  im.rgb.assign(5 * 4 * 3, 77);
  const image::LabelMap pred = label_map(5, 4, std::vector<uint8_t>(20, 13));  // car
  const image::LabelMap truth = label_map(5, 4, std::vector<uint8_t>(20, 0));  // road
  const data::Palette p = data::train_id_palette(19);
  const image::Image three = figures::segmentation_panel(im, pred, &truth, p);
  EXPECT_EQ(three.width, 3 * 5 + 2 * figures::kPanelGap);
  EXPECT_EQ(three.height, figures::kPanelTitleH + 4);
  const int y = figures::kPanelTitleH + 2;
  EXPECT_EQ(rgb(three, 4, y), (std::array<uint8_t, 3>{77, 77, 77}));
  EXPECT_EQ(rgb(three, 5 + figures::kPanelGap, y), (std::array<uint8_t, 3>{0, 0, 142}));
  EXPECT_EQ(rgb(three, 2 * (5 + figures::kPanelGap) + 4, figures::kPanelTitleH + 3), (std::array<uint8_t, 3>{128, 64, 128}));
  EXPECT_EQ(rgb(three, 5, y), (std::array<uint8_t, 3>{255, 255, 255}));  // the gap
  const image::Image two = figures::segmentation_panel(im, pred, nullptr, p);
  EXPECT_EQ(two.width, 2 * 5 + figures::kPanelGap);
  EXPECT_EQ(two.height, figures::kPanelTitleH + 4);
}

TEST(SegmentPanels, CommandDrawsTinyCityscapesWithGroundTruth) {
  csg::testing::TempDir dir;
  data::write_tiny_gta5_cityscapes(dir.str(), 0, 2, 3);
  csg::testing::write_tiny_segmentation_model(dir / "seg.safetensors");

  figures::SegmentOptions s;
  s.model = dir / "seg.safetensors";
  s.inputs = {dir / "cityscapes/leftImg8bit/val/frankfurt"};
  s.labels_dir = dir / "cityscapes/gtFine";
  s.out_dir = dir / "out";
  const int64_t n = figures::run_segment(s);
  ASSERT_GE(n, 1);
  int panels = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    const std::string name = e.path().filename().string();
    if (name.find("_panel.png") == std::string::npos) continue;
    ++panels;
    const image::Image p = image::load(e.path().string());
    EXPECT_EQ(p.width, 3 * 64 + 2 * figures::kPanelGap) << name;  // tiny Cityscapes: 64 x 32
    EXPECT_EQ(p.height, figures::kPanelTitleH + 32) << name;
    const std::string colour = e.path().string().substr(0, e.path().string().size() - 10) + "_color.png";
    EXPECT_EQ(data::read_label_png(colour).width, 64) << colour;
  }
  EXPECT_EQ(panels, n);

  s.labels_dir = dir / "gta5/labels";  // no Cityscapes names there
  try {
    figures::run_segment(s);
    ADD_FAILURE() << "no error for missing ground truth";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("_gtFine_labelIds.png"), std::string::npos) << e.what();
  }
  s.labels_dir = "";
  s.model = dir / "missing.ckpt";
  EXPECT_THROW(figures::run_segment(s), Error);
}
