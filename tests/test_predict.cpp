// tests/test_predict.cpp — `csg predict` / `csg export` as library calls (csg/predict.h): inputs
// from files, folders and lists, batches, logits and label maps equal to the engine's.
#include "csg/predict.h"

#include <gtest/gtest.h>

#include <fstream>

#include "csg/data/label_png.h"
#include "csg/infer.h"
#include "csg/io/npy.h"
#include "csg/io/safetensors.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

namespace csg {
namespace {

image::Image pattern(int w, int h, int seed) {
  image::Image im;
  im.width = w, im.height = h;
  for (int i = 0; i < w * h * 3; ++i) im.rgb.push_back(static_cast<uint8_t>((i * 17 + seed * 59) % 256));
  return im;
}

// Runs run_predict with its per-image lines captured.
std::string predict_lines(const infer::PredictOptions& o, infer::PredictSummary* summary) {
  std::FILE* f = std::tmpfile();
  *summary = infer::run_predict(o, f);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(f);
  return text;
}

TEST(Predict, ClassifiesFoldersAndListsInBatches) {
  testing::TempDir dir;
  models::ResNetOptions o;
  o.depth = 18, o.width = 4, o.num_classes = 3;
  models::ResNet net(o);
  infer::ModelWeights m;
  m.info.arch = "resnet18", m.info.width = 4, m.info.num_classes = 3, m.info.head = "fc";
  m.info.resize = 36, m.info.crop = 32;
  m.info.class_names = {"cat", "dog", "owl"};
  m.tensors = net.state_dict();
  const std::string checkpoint = dir / "state.safetensors", model = dir / "model.safetensors";
  save_safetensors(checkpoint, m.tensors);
  infer::export_model(model, m);

  const std::string folder = dir.subdir("images");
  std::vector<image::Image> images;
  for (int i = 0; i < 3; ++i) {
    images.push_back(pattern(40 + i, 36, i));
    image::save_png(folder + "/img" + std::to_string(i) + ".png", images.back());
  }
  image::save_png(dir / "extra.png", pattern(50, 40, 7));
  images.push_back(pattern(50, 40, 7));
  std::ofstream(dir / "list.txt") << "# one more\nextra.png\n\n";

  infer::PredictOptions p;
  p.model = model;
  p.inputs = {folder, dir / "list.txt"};
  p.batch_size = 3;
  p.threads = 1;
  p.logits_out = dir / "logits.npy";
  p.quiet = true;
  infer::PredictSummary s;
  const std::string text = predict_lines(p, &s);
  EXPECT_EQ(s.images, 4);
  EXPECT_GT(s.images_per_second, 0);
  EXPECT_NE(text.find("img0.png: top-3"), std::string::npos) << text;
  EXPECT_NE(text.find("extra.png: top-3"), std::string::npos) << text;
  const Tensor logits = load_npy(dir / "logits.npy");
  ASSERT_EQ(logits.shape(), (Shape{4, 3}));
  infer::Engine engine(m);
  const Tensor want = engine.run(engine.preprocess(images));
  EXPECT_LE(testing::max_abs_diff(logits, want), 1e-5 * (1 + testing::max_abs(want)));

  EXPECT_NE(infer::export_model_file(checkpoint, dir / "again.safetensors").find("resnet18, fc head, 3 classes"),
            std::string::npos);
}

TEST(Predict, WritesLabelAndColourMapsForSegmentation) {
  testing::TempDir dir;
  const infer::ModelWeights m = csg::testing::write_tiny_segmentation_model(dir / "seg.safetensors");
  const image::Image im = pattern(24, 16, 1);
  image::save_png(dir / "street.png", im);

  infer::PredictOptions p;
  p.model = dir / "seg.safetensors";
  p.inputs = {dir / "street.png"};
  p.out_dir = dir / "out";
  p.threads = 1;
  p.quiet = true;
  infer::PredictSummary s;
  predict_lines(p, &s);
  const image::LabelMap labels = data::read_label_png(dir / "out/street_labels.png");
  infer::Engine engine(m);
  const image::LabelMap want = infer::label_maps(engine.run(engine.preprocess({im})))[0];
  EXPECT_EQ(labels.values, want.values);
  EXPECT_EQ(data::read_label_png(dir / "out/street_color.png").values, want.values);  // palette indices
}

TEST(Predict, InputErrorsNameTheInput) {
  testing::TempDir dir;
  try {
    infer::expand_inputs({dir / "nowhere.png"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere.png"), std::string::npos) << e.what();
  }
  EXPECT_THROW(infer::expand_inputs({dir.subdir("empty")}), Error);
}

}  // namespace
}  // namespace csg
