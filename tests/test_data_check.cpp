// tests/test_data_check.cpp — `csg check-data` as a library (csg/data/check.h): image sizes from
// headers, counts per class and split, each kind of problem found and named (the fast pass and
// --decode), and how `csg train` acts on what it finds (src/train/data_check.h).
#include <filesystem>
#include <fstream>

#include "csg/data/check.h"
#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/image.h"
#include "tests/testing.h"

using namespace csg;
using namespace csg::data;
namespace fs = std::filesystem;

namespace {

using csg::testing::contains;

std::string first_image(const std::string& dir, const std::string& ext) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ext) return e.path().string();
  return "";
}

// Keeps the first `n` bytes of a file (a download that stopped).
void cut_to(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, n);
}

// Replaces the label of line `line` (1-based) of a VisDA list.
void set_label(const std::string& list, int line, const std::string& label) {
  std::ifstream in(list);
  std::string text, l;
  for (int n = 1; std::getline(in, l); ++n) {
    if (n == line) l = l.substr(0, l.rfind(' ') + 1) + label;
    text += l + "\n";
  }
  in.close();
  std::ofstream(list, std::ios::trunc) << text;
}

}  // namespace

TEST(ImageHeader, SizesFromPngAndJpegHeadersMatchTheDecodedImages) {
  csg::testing::TempDir tmp;
  write_tiny_visda(tmp.str(), 1, 12, 12);
  for (const std::string& path : {first_image(tmp / "train", ".png"), first_image(tmp / "validation", ".jpg")}) {
    const image::ImageSize s = image::read_image_size(path);
    const image::Image im = image::load(path);
    EXPECT_EQ(s.width, im.width) << path;
    EXPECT_EQ(s.height, im.height) << path;
  }
  const std::string png = first_image(tmp / "train", ".png");
  cut_to(png, 20);  // inside IHDR
  EXPECT_THROW(image::read_image_size(png), Error);
  EXPECT_THROW(image::read_image_size(tmp / "nope.png"), Error);
  const std::string jpg = first_image(tmp / "validation", ".jpg");
  cut_to(jpg, 4);
  EXPECT_THROW(image::read_image_size(jpg), Error);
}

TEST(DataCheck, CountsEveryClassOfEverySplit) {
  csg::testing::TempDir tmp;
  write_tiny_visda(tmp.str(), 2, 24, 12);
  const DataCheckReport r = check_visda(tmp.str(), {"train", "validation"});
  ASSERT_EQ(r.splits.size(), 2u);
  EXPECT_EQ(r.samples(), 36);
  EXPECT_EQ(r.problems(), 0);
  EXPECT_EQ(r.splits[0].name, "train");
  EXPECT_EQ(r.splits[0].per_class, std::vector<int64_t>(12, 2));  // sample i has class i % 12
  EXPECT_EQ(r.splits[1].per_class, std::vector<int64_t>(12, 1));
  const std::string text = r.text();
  EXPECT_TRUE(contains(text, "aeroplane 2, bicycle 2")) << text;
  EXPECT_TRUE(contains(text, "no problems in 36 samples")) << text;
}

TEST(DataCheck, NamesMissingUnreadableAndOutOfRange) {
  csg::testing::TempDir tmp;
  write_tiny_visda(tmp.str(), 3, 24, 12);
  const std::string list = tmp / "train/image_list.txt";
  std::ifstream in(list);
  std::string line2;
  std::getline(in, line2);
  std::getline(in, line2);
  in.close();
  const std::string missing = tmp / ("train/" + line2.substr(0, line2.rfind(' ')));
  fs::remove(missing);
  set_label(list, 5, "15");
  set_label(list, 6, "car");
  const std::string garbage = first_image(tmp / "validation", ".jpg");
  std::ofstream(garbage, std::ios::trunc) << "not an image";
  const DataCheckReport r = check_visda(tmp.str(), {"train", "validation"});
  EXPECT_EQ(r.problems_of(ProblemKind::Missing), 1);
  EXPECT_EQ(r.problems_of(ProblemKind::LabelOutOfRange), 1);
  EXPECT_EQ(r.problems_of(ProblemKind::BadListLine), 1);
  EXPECT_EQ(r.problems_of(ProblemKind::Unreadable), 1);
  EXPECT_EQ(r.splits[0].samples, 22) << "the two bad lines are no samples";
  const std::string text = r.text();
  for (const std::string& w : std::vector<std::string>{
           "missing file: " + missing, "label out of range: " + list + ":5: label 15 is outside [0,12)",
           "bad list line: " + list + ":6: the label 'car' is not an integer", "unreadable file: " + garbage,
           "4 problems in 34 samples: 1 bad list line, 1 label out of range, 1 missing file, 1 unreadable file"})
    EXPECT_TRUE(contains(text, w)) << w << " not in:\n" << text;
}

TEST(DataCheck, AFileCutShortAfterItsHeaderNeedsTheDecode) {
  csg::testing::TempDir tmp;
  write_tiny_visda(tmp.str(), 4, 12, 12);
  const std::string png = first_image(tmp / "train", ".png");
  cut_to(png, 60);  // the header is whole, the pixels are not
  EXPECT_EQ(check_visda(tmp.str(), {"train"}).problems(), 0) << "the fast pass reads headers only";
  CheckOptions decode;
  decode.decode = true;
  const DataCheckReport r = check_visda(tmp.str(), {"train"}, decode);
  ASSERT_EQ(r.problems_of(ProblemKind::Unreadable), 1) << r.text();
  EXPECT_TRUE(contains(r.splits[0].problems[0].message, png)) << r.text();
}

TEST(DataCheck, SegmentationLabelsMissingOfAnotherSizeOrOutOfRange) {
  csg::testing::TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 5, 4, 3);
  const std::string gta = tmp / "gta5";
  EXPECT_EQ(check_gta5(gta, "").problems(), 0);
  fs::remove(gta + "/labels/00001.png");
  // A Cityscapes label (64x32) beside a GTA5 frame (64x35).
  fs::copy_file(first_image(tmp / "cityscapes/gtFine", ".png"), gta + "/labels/00002.png",
                fs::copy_options::overwrite_existing);
  const DataCheckReport fast = check_gta5(gta, "");
  EXPECT_EQ(fast.problems_of(ProblemKind::Missing), 1) << fast.text();
  EXPECT_EQ(fast.problems_of(ProblemKind::SizeMismatch), 1) << fast.text();
  EXPECT_TRUE(contains(fast.text(), "00002.png is 64x35 but its label")) << fast.text();
  EXPECT_TRUE(contains(fast.text(), "with --decode")) << "the fast pass says where pixel counts come from";

  // A label id no Cityscapes class has (200), found by decoding; pixels per class counted.
  const std::string city = tmp / "cityscapes";
  const std::string label = first_image(city + "/gtFine", ".png");
  LabelMap m = read_label_png(label);
  m.values[0] = 200;
  write_grey_png(label, m);
  CheckOptions decode;
  decode.decode = true;
  const DataCheckReport r = check_cityscapes(city, "val", decode);
  ASSERT_EQ(r.problems_of(ProblemKind::LabelOutOfRange), 1) << r.text();
  EXPECT_TRUE(contains(r.text(), label + ": 1 pixels hold values such as 200")) << r.text();
  ASSERT_EQ(r.splits[0].per_class.size(), 19u);
  EXPECT_GT(r.splits[0].per_class[0], 0) << "road pixels";
  EXPECT_TRUE(contains(r.text(), "labelled pixels per class: road ")) << r.text();
}

// How a run acts on the check: problems stop a small set, warn in a large one; --data-check
// stop / warn decide for any size; a list line the loader cannot use stops every run.
TEST(DataCheck, TrainingStopsOrWarnsAsConfigured) {
  auto report = [](int64_t samples, ProblemKind kind) {
    DataCheckReport r;
    r.data_set = "VisDA-17 (d)";
    SplitCheck s;
    s.name = "train";
    s.source = "d/train/image_list.txt";
    s.samples = samples;
    s.problems.push_back({kind, "d/train/a.png"});
    r.splits.push_back(s);
    return std::vector<DataCheckReport>{r};
  };
  train::Config c;
  c.quiet = true;
  auto stops = [&](const std::vector<DataCheckReport>& r, const std::string& mode) {
    c.data_check = train::parse_data_check(mode);
    ::testing::internal::CaptureStderr();
    bool stopped = false;
    try {
      train::decide_on_data(r, c);
    } catch (const Error& e) {
      stopped = true;
      EXPECT_TRUE(contains(e.what(), "missing file: d/train/a.png") || contains(e.what(), "label out of range"))
          << e.what();
    }
    const std::string warned = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(contains(warned, "training goes on"), !stopped) << warned;
    return stopped;
  };
  EXPECT_TRUE(stops(report(train::kLargeDataSet - 1, ProblemKind::Missing), "auto"));
  EXPECT_FALSE(stops(report(train::kLargeDataSet, ProblemKind::Missing), "auto"));
  EXPECT_TRUE(stops(report(train::kLargeDataSet, ProblemKind::Missing), "stop"));
  EXPECT_FALSE(stops(report(10, ProblemKind::Missing), "warn"));
  EXPECT_TRUE(stops(report(100000, ProblemKind::LabelOutOfRange), "warn"));
  DataCheckReport clean;
  c.data_check = train::DataCheck::Stop;
  EXPECT_NO_THROW(train::decide_on_data({clean}, c));
}

// The same pass inside run_training: before the run folder, so a stopped run leaves nothing.
TEST(DataCheck, RunTrainingChecksBeforeItsRunFolder) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  write_tiny_visda(data, 6, 16, 4);
  fs::remove(first_image(data + "/train", ".png"));
  train::Config c = csg::testing::tiny_visda_config(data, tmp / "run");
  c.max_steps = 1;
  try {
    train::run_training(c);
    FAIL() << "a set of 16 images with a missing one trained";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "--data-check warn")) << e.what();
  }
  EXPECT_FALSE(fs::exists(c.out_dir));
  c.data_check = train::DataCheck::Warn;  // the loader replaces the missing image with another sample
  ::testing::internal::CaptureStderr();
  const train::TrainSummary s = train::run_training(c);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.steps, 1);
  EXPECT_TRUE(contains(said, "training goes on")) << said;
}
