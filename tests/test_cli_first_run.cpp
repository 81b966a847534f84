// tests/test_cli_first_run.cpp — `./csg train visda` as a newcomer first types it, the binary
// started in an empty folder: without data/visda it ends at once with what VisDA-17 is and where
// to get it; with make-tiny's data/visda it asks for the ImageNet weights; with --weights none it
// trains, on the device --device auto chose and saying why, and estimates the run after its
// first steps; `csg check-data` names a missing file and a bad label, and `csg train` stops on
// them before its first step. Skips without CSG_BINARY (set by `make test`).

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "csg/cuda.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

using Ran = csg::testing::ShellResult;

std::string binary() {
  const char* b = std::getenv("CSG_BINARY");
  return b != nullptr && fs::exists(b) ? b : "";
}

// `csg args` with `dir` as the working directory.
Ran csg_in(const std::string& dir, const std::string& args) {
  const std::string log = dir + "/../csg-output.txt";
  return csg::testing::run_shell("cd '" + dir + "' && OMP_NUM_THREADS=2 '" + binary() + "' " + args, log);
}

using csg::testing::contains;

#define CSG_REQUIRE_BINARY()                                                                 \
  do {                                                                                       \
    if (binary().empty()) GTEST_SKIP() << "CSG_BINARY (the ./csg to start) is not set: run `make test`"; \
  } while (0)

// Small enough to train in seconds; everything else is the bare command's.
const char* const kSmall =
    "--arch resnet18 --width 8 --image-size 32 --batch-size 4 --queue-size 64 --embed-dim 8 --max-steps 7 "
    "--log-every 7 --no-eval --workers 0";

}  // namespace

TEST(CliFirstRun, WithoutDataTheBareCommandSaysWhatVisdaIsAndWhereToGetIt) {
  CSG_REQUIRE_BINARY();
  csg::testing::TempDir tmp;
  const std::string dir = tmp.subdir("work");
  const Ran r = csg_in(dir, "train visda");
  EXPECT_EQ(r.status, 1) << r.output;
  for (const char* w : {"VisDA-17 not found: 'data/visda' is not a folder", "http://ai.bu.edu/visda-2017/",
                        "data/visda/train/image_list.txt", "data/visda/validation/image_list.txt",
                        "`./csg train digits`", "./csg make-tiny visda data/visda"})
    EXPECT_TRUE(contains(r.output, w)) << w << " not in:\n" << r.output;
  EXPECT_FALSE(fs::exists(dir + "/runs")) << "no run folder for a run that cannot start";
  // The same for the commands that read the other data sets.
  EXPECT_TRUE(contains(csg_in(dir, "train gta5").output, "GTA5 not found: 'data/gta5'"));
  EXPECT_TRUE(contains(csg_in(dir, "eval gta5").output, "Cityscapes not found: 'data/cityscapes'"));
  EXPECT_TRUE(contains(csg_in(dir, "hse").output, "VisDA-17 not found"));
  EXPECT_TRUE(contains(csg_in(dir, "check-data gta5").output, "https://download.visinf.tu-darmstadt.de/"));
}

TEST(CliFirstRun, WithTinyDataTheBareCommandAsksForTheImagenetWeights) {
  CSG_REQUIRE_BINARY();
  csg::testing::TempDir tmp;
  const std::string dir = tmp.subdir("work");
  ASSERT_EQ(csg_in(dir, "make-tiny visda data/visda").status, 0);
  const Ran r = csg_in(dir, "train visda");
  EXPECT_EQ(r.status, 1) << r.output;
  for (const char* w : {"no ImageNet weights for --arch resnet101 in data/weights/",
                        "wget -P data/weights https://download.pytorch.org/models/resnet101-63fe2227.pth",
                        "--weights none"})
    EXPECT_TRUE(contains(r.output, w)) << w << " not in:\n" << r.output;
  EXPECT_FALSE(fs::exists(dir + "/runs"));
}

TEST(CliFirstRun, WeightsNoneTrainsOnTheDeviceAutoChoseAndSaysWhy) {
  CSG_REQUIRE_BINARY();
  csg::testing::TempDir tmp;
  const std::string dir = tmp.subdir("work");
  ASSERT_EQ(csg_in(dir, "make-tiny visda data/visda").status, 0);
  const Ran r = csg_in(dir, std::string("train visda --weights none ") + kSmall);
  ASSERT_EQ(r.status, 0) << r.output;
  // This process asks the same probe the binary does.
  const std::string device = cuda::available() ? "cuda" : "cpu";
  EXPECT_TRUE(contains(r.output, "device: " + device + " (--device auto: " + cuda::status() + ")")) << r.output;
  EXPECT_TRUE(contains(r.output, "data check: VisDA-17 (data/visda): train 48 images, no problems")) << r.output;
  EXPECT_TRUE(contains(r.output, "estimate on " + device + " (5 steps timed after the first")) << r.output;
  EXPECT_TRUE(contains(r.output, "per epoch of 12 steps")) << r.output;
  EXPECT_TRUE(contains(r.output, "trained 7 steps")) << r.output;
  EXPECT_TRUE(fs::is_directory(dir + "/runs")) << "the run folder under the working directory";
}

TEST(CliFirstRun, CheckDataNamesAMissingFileAndABadLabelAndTrainStopsOnThem) {
  CSG_REQUIRE_BINARY();
  csg::testing::TempDir tmp;
  const std::string dir = tmp.subdir("work");
  ASSERT_EQ(csg_in(dir, "make-tiny visda data/visda").status, 0);
  EXPECT_EQ(csg_in(dir, "check-data visda").status, 0);
  // Line 1 loses its file, line 3 gets label 12 (the classes are 0..11).
  const std::string list = dir + "/data/visda/train/image_list.txt";
  std::ifstream in(list);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  in.close();
  ASSERT_GE(lines.size(), 3u);
  const std::string gone = "data/visda/train/" + lines[0].substr(0, lines[0].rfind(' '));
  fs::remove(dir + "/" + gone);
  lines[2] = lines[2].substr(0, lines[2].rfind(' ')) + " 12";
  std::ofstream out(list, std::ios::trunc);
  for (const std::string& l : lines) out << l << "\n";
  out.close();

  const Ran check = csg_in(dir, "check-data visda");
  EXPECT_EQ(check.status, 1) << check.output;
  for (const std::string& w : std::vector<std::string>{
           "missing file: " + gone, "label out of range: data/visda/train/image_list.txt:3: label 12 is outside [0,12)",
           "2 problems in 71 samples"})
    EXPECT_TRUE(contains(check.output, w)) << w << " not in:\n" << check.output;

  const Ran train = csg_in(dir, std::string("train visda --weights none --device cpu ") + kSmall);
  EXPECT_EQ(train.status, 1) << train.output;
  EXPECT_TRUE(contains(train.output, "the data check before the first step found problems")) << train.output;
  EXPECT_TRUE(contains(train.output, "missing file: " + gone)) << train.output;
  EXPECT_FALSE(fs::exists(dir + "/runs")) << "stopped before the run folder";
}
