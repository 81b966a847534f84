// tests/test_cli_outputs.cpp — what the inference commands write, and what they refuse before writing:
// images whose outputs would share a name, an export over its own input, --out logits from a
// segmentation model; labelled image lists, a ground truth of another size, PNG write errors that
// say why, --class on a model without class names, and JSON text for file names that are not UTF-8.
#include <filesystem>
#include <fstream>

#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/figures.h"
#include "csg/image.h"
#include "csg/infer.h"
#include "csg/io/safetensors.h"
#include "csg/models/resnet.h"
#include "csg/predict.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;
using csg::testing::run_cli_captured;

namespace {

image::Image small_image(int w, int h) {
  image::Image im;
  im.width = w, im.height = h;
  for (int i = 0; i < w * h * 3; ++i) im.rgb.push_back(static_cast<uint8_t>((i * 37) % 256));
  return im;
}

// a/x.png, a/x.jpg and b/x.png: three images, one file stem.
std::vector<std::string> same_stem_images(const csg::testing::TempDir& tmp) {
  const image::Image im = small_image(40, 30);
  image::save_png(tmp.subdir("a") + "/x.png", im);
  image::save_png(tmp / "a/x.jpg", im);  // PNG bytes under a .jpg name decode all the same
  image::save_png(tmp.subdir("b") + "/x.png", im);
  return {tmp / "a/x.png", tmp / "a/x.jpg", tmp / "b/x.png"};
}

std::string segmentation_model(const csg::testing::TempDir& tmp) {
  csg::testing::write_tiny_segmentation_model(tmp / "seg.safetensors");
  return tmp / "seg.safetensors";
}

}  // namespace

// Outputs are named <out>/<file stem>_*: images that share a stem are refused before anything is
// written (it printed "wrote .../x_gradcam.png" three times and left one file).
TEST(CliOutputs, ImagesWhoseOutputsShareANameAreRefused) {
  csg::testing::TempDir tmp;
  const std::vector<std::string> images = same_stem_images(tmp);
  const std::string out = tmp / "out";
  for (const std::string command : {"gradcam", "segment"}) {
    std::vector<std::string> args = {command, "--checkpoint", tmp / "model.safetensors", "--out", out, "--images"};
    args.insert(args.end(), images.begin(), images.end());
    const auto r = run_cli_captured(args);
    EXPECT_EQ(r.status, 1) << command << r.out;
    EXPECT_NE(r.err.find(images[0] + ", " + images[1] + " and " + images[2] + " would all write " + out + "/x_*"),
              std::string::npos)
        << command << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << command;
  }
  std::vector<std::string> args = {"predict", "--model", segmentation_model(tmp), "--out-dir", out, "--quiet"};
  args.insert(args.end(), images.begin(), images.end());
  const auto p = run_cli_captured(args);
  EXPECT_EQ(p.status, 1) << p.out;
  EXPECT_NE(p.err.find("would all write " + out + "/x_*"), std::string::npos) << p.err;
  EXPECT_FALSE(fs::exists(out));
  // One path given twice writes one output: not a clash.
  EXPECT_EQ(infer::output_stems({images[0], images[0]}, out, "predict"),
            (std::vector<std::string>{out + "/x", out + "/x"}));
}

TEST(CliOutputs, ExportRefusesToWriteOverItsInput) {
  csg::testing::TempDir tmp;
  models::ResNetOptions mo;
  mo.depth = 18, mo.width = 8, mo.num_classes = 4;
  models::ResNet model(mo);
  const std::string file = tmp / "model.safetensors";
  save_safetensors(file, model.state_dict());
  const uintmax_t size = fs::file_size(file);
  for (const std::string& out : {file, tmp / "./model.safetensors"}) {
    const auto r = run_cli_captured({"export", "--checkpoint", file, "--out", out});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.err.find("is the file it reads"), std::string::npos) << r.err;
  }
  EXPECT_EQ(fs::file_size(file), size);
  EXPECT_EQ(run_cli_captured({"export", "--checkpoint", file, "--out", tmp / "copy.safetensors"}).status, 0);
}

// A segmentation model has no logits per image: --out (a .npy of logits) is refused, not ignored.
TEST(CliOutputs, PredictOutOfASegmentationModelIsRefused) {
  csg::testing::TempDir tmp;
  image::save_png(tmp / "a.png", small_image(40, 30));
  const auto r = run_cli_captured({"predict", "--model", segmentation_model(tmp), "--out", tmp / "x.npy", "--quiet", tmp / "a.png"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.err.find("holds a segmentation model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--out-dir"), std::string::npos) << r.err;
}

// VisDA's image_list.txt ("aeroplane/x.jpg 0") lists paths with a class number after them.
TEST(CliOutputs, ImageListsMayCarryClassNumbers) {
  csg::testing::TempDir tmp;
  image::save_png(tmp.subdir("aeroplane") + "/x.png", small_image(8, 8));
  image::save_png(tmp / "with space.png", small_image(8, 8));
  std::ofstream(tmp / "image_list.txt") << "aeroplane/x.png 0\nwith space.png\n";
  EXPECT_EQ(infer::expand_inputs({tmp / "image_list.txt"}),
            (std::vector<std::string>{tmp / "aeroplane/x.png", tmp / "with space.png"}));
}

// A ground truth of another size than its image is another image's: drawn without it, with a warning
// (it was stretched onto the prediction).
TEST(CliOutputs, SegmentLeavesOutAGroundTruthOfAnotherSize) {
  csg::testing::TempDir tmp;
  data::write_tiny_gta5_cityscapes(tmp.str(), 0, 2, 1);
  const std::string labels = tmp / "gta5/labels";
  std::string label_file;
  for (const auto& e : fs::directory_iterator(labels)) label_file = e.path().string();
  data::LabelMap wrong;
  wrong.width = 20, wrong.height = 10;
  wrong.values.assign(200, 7);
  data::write_grey_png(label_file, wrong);
  figures::SegmentOptions s;
  s.model = segmentation_model(tmp);
  s.inputs = {tmp / ("gta5/images/" + fs::path(label_file).filename().string())};
  s.labels_dir = labels;
  s.out_dir = tmp / "out";
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(figures::run_segment(s), 1);
  ::testing::internal::GetCapturedStdout();
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("is 20x10 but"), std::string::npos) << said;
  const image::Image panel = image::load(tmp / ("out/" + fs::path(label_file).stem().string() + "_panel.png"));
  EXPECT_EQ(panel.width, 2 * 64 + figures::kPanelGap) << "image and prediction only";
}

TEST(CliOutputs, PngWriteErrorsSayWhy) {
  csg::testing::TempDir tmp;
  const std::string where = tmp / "no-such-folder/x.png";
  for (int kind = 0; kind < 3; ++kind) {
    try {
      data::LabelMap m;
      m.width = m.height = 2;
      m.values = {0, 1, 2, 3};
      if (kind == 0) image::save_png(where, small_image(2, 2));
      if (kind == 1) data::write_grey_png(where, m);
      if (kind == 2) data::write_palette_png(where, m, data::cityscapes_palette());
      ADD_FAILURE() << kind << ": wrote into a missing folder";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << kind << ": " << e.what();
    }
  }
}

// An ImageNet state dict names no classes ("0".."999"): the error says to give an index instead of
// listing a thousand numbers; a long list of real names is cut.
TEST(CliOutputs, ClassOfAModelWithoutNamesAsksForAnIndex) {
  infer::ModelInfo info;
  info.num_classes = 1000;
  info.class_names = infer::default_class_names(infer::Task::Classification, 1000);
  try {
    figures::resolve_class(info, "car");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("have no names: give an index 0..999"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 300u) << msg;
  }
  for (int k = 0; k < 1000; ++k) info.class_names[k] = "class" + std::to_string(k);
  try {
    figures::resolve_class(info, "car");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("... (1000 in all)"), std::string::npos) << e.what();
  }
}

TEST(CliOutputs, VisdaQueueSizeErrorDoesNotNameChunks) {
  const auto r = run_cli_captured({"train", "visda", "--data", "d", "--batch-size", "8", "--queue-size", "4"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("(--batch-size = 8)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--chunks"), std::string::npos) << r.err;
}

// A file name that is not UTF-8 (Latin-1 "é" = 0xE9) is written as \udce9: valid JSON that reads
// back as the same bytes (config.json, checkpoint metadata).
TEST(CliOutputs, JsonTextOfBytesThatAreNotUtf8IsValidAndReadsBack) {
  const std::string latin1 = "data/caf\xe9 \xff", utf8 = "data/caf\xc3\xa9";
  const std::string quoted = io::json::quote(latin1);
  EXPECT_EQ(quoted, "\"data/caf\\udce9 \\udcff\"");
  EXPECT_EQ(io::json::parse(quoted, "test").text, latin1);
  EXPECT_EQ(io::json::quote(utf8), "\"" + utf8 + "\"");  // UTF-8 passes through
  for (const std::string bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})  // overlong, surrogate, > U+10FFFF, cut
    EXPECT_EQ(io::json::parse(io::json::quote(bad), "test").text, bad);

  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("caf\xe9");
  data::write_tiny_visda(data, 0, 16, 4);
  const std::string out = tmp / "run";
  const auto r = run_cli_captured({"train", "visda", "--data", data, "--out", out, "--arch", "resnet18", "--width", "8", "--weights", "none",
                          "--image-size", "32", "--batch-size", "8", "--queue-size", "64", "--embed-dim", "8",
                          "--layers", "4", "--max-steps", "1", "--no-eval", "--quiet", "--workers", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream f(out + "/config.json");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const io::json::Value v = io::json::parse(text, "config.json");
  EXPECT_EQ(v.find("settings")->find("data")->text, data);
}
