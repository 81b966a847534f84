// tests/test_c_api.cpp — include/csg/c_api.h: results equal the C++ engine's, and every bad
// input (malformed model files above all) is a status plus a message, never a crash.
#include "csg/c_api.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "csg/cuda.h"
#include "csg/infer.h"
#include "csg/io/safetensors.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

extern "C" void openblas_set_num_threads(int n);

namespace csg {
namespace {

// A small exported classifier: ResNet-18 at width 8, 5 classes, 32 x 32 crops.
std::string export_classifier(const testing::TempDir& dir) {
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 5, o.seed = 1;
  models::ResNet net(o);
  infer::ModelWeights m;
  m.info.arch = "resnet18", m.info.width = 8, m.info.num_classes = 5, m.info.head = "fc";
  m.info.resize = 36, m.info.crop = 32;
  m.info.class_names = {"zero", "one", "two", "three", "four"};
  m.tensors = net.state_dict();
  const std::string path = dir / "classifier.safetensors";
  infer::export_model(path, m);
  return path;
}

std::string export_segmenter(const testing::TempDir& dir) {
  models::DeepLabOptions o;
  o.depth = 18, o.num_classes = 4, o.seed = 2;
  models::DeepLab net(o);
  infer::ModelWeights m;
  m.info.arch = "deeplab18", m.info.num_classes = 4, m.info.head = "aspp-csg";
  m.info.class_names = infer::default_class_names(infer::Task::Segmentation, 4);
  m.tensors = net.state_dict();
  const std::string path = dir / "segmenter.safetensors";
  infer::export_model(path, m);
  return path;
}

image::Image pattern(int w, int h, int seed) {
  image::Image im;
  im.width = w, im.height = h;
  for (int i = 0; i < w * h * 3; ++i) im.rgb.push_back(static_cast<uint8_t>((i * 13 + seed * 101) % 256));
  return im;
}

csg_image view_of(const image::Image& im) { return {im.rgb.data(), im.width, im.height, 0}; }

struct ModelCloser {
  void operator()(csg_model* m) const { csg_model_free(m); }
};
using ModelPtr = std::unique_ptr<csg_model, ModelCloser>;

ModelPtr open_or_fail(const std::string& path) {
  csg_model* m = nullptr;
  EXPECT_EQ(csg_model_open(path.c_str(), nullptr, &m), CSG_OK) << csg_last_error();
  return ModelPtr(m);
}

TEST(CApi, ClassifiesImagesAsTheEngineDoes) {
  testing::TempDir dir;
  const std::string path = export_classifier(dir);
  ModelPtr m = open_or_fail(path);
  ASSERT_TRUE(m);
  EXPECT_EQ(csg_model_task(m.get()), CSG_TASK_CLASSIFICATION);
  EXPECT_EQ(csg_model_num_classes(m.get()), 5);
  EXPECT_STREQ(csg_model_class_name(m.get(), 3), "three");
  EXPECT_EQ(csg_model_class_name(m.get(), 5), nullptr);
  EXPECT_STREQ(csg_model_arch(m.get()), "resnet18");

  const std::vector<image::Image> images = {pattern(40, 50, 1), pattern(64, 48, 2)};
  // The second image handed over with padded rows.
  std::vector<uint8_t> padded(48 * (64 * 3 + 5));
  for (int y = 0; y < 48; ++y)
    std::copy_n(&images[1].rgb[y * 64 * 3], 64 * 3, &padded[y * (64 * 3 + 5)]);
  const csg_image batch[2] = {view_of(images[0]), {padded.data(), 64, 48, 64 * 3 + 5}};
  std::vector<float> logits(2 * 5);
  int ids[2] = {-1, -1};
  ASSERT_EQ(csg_classify_images(m.get(), batch, 2, logits.data(), ids), CSG_OK) << csg_last_error();

  infer::Engine engine(infer::read_model(path));
  const std::vector<float> want = engine.run(engine.preprocess(images)).to_float_vector();
  ASSERT_EQ(want.size(), logits.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(logits[i], want[i]) << i;
  for (int n = 0; n < 2; ++n)
    EXPECT_EQ(ids[n], std::max_element(want.begin() + n * 5, want.begin() + n * 5 + 5) - (want.begin() + n * 5));

  // The same images from PNG files, on one thread: the same logits.
  image::save_png(dir / "a.png", images[0]);
  image::save_png(dir / "b.png", images[1]);
  const std::string a = dir / "a.png", b = dir / "b.png";
  const char* paths[2] = {a.c_str(), b.c_str()};
  const int caller_threads = omp_get_max_threads();
  ASSERT_EQ(csg_model_set_threads(m.get(), 1), CSG_OK);
  std::vector<float> from_files(2 * 5);
  ASSERT_EQ(csg_classify_files(m.get(), paths, 2, from_files.data(), nullptr), CSG_OK) << csg_last_error();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(from_files[i], want[i], 1e-5f * (1 + std::abs(want[i])));
  // The model's setting holds for its runs only: the caller's OpenMP width is as it was.
  EXPECT_EQ(omp_get_max_threads(), caller_threads);
  csg_model_set_threads(m.get(), 0);

  int w = 0, h = 0;
  ASSERT_EQ(csg_model_input_size(m.get(), 640, 480, &w, &h), CSG_OK);
  EXPECT_EQ(w, 32);
  EXPECT_EQ(h, 32);
  uint8_t labels[1];
  EXPECT_EQ(csg_segment_images(m.get(), batch, 1, labels, nullptr), CSG_ERR_WRONG_TASK);
  EXPECT_NE(std::string(csg_last_error()).find("classification model"), std::string::npos);
}

// OpenBLAS's OpenMP build keeps a count of its own, which can read 1 (before its first call, in
// some builds) while OpenMP's is wider; setting OpenBLAS's sets OpenMP's too. A run on the default
// threads must leave both alone, or the caller's later runs go on one thread and sum differently.
TEST(CApi, DefaultThreadsLeaveTheCallersOpenMpWidth) {
  testing::TempDir dir;
  ModelPtr m = open_or_fail(export_classifier(dir));
  ASSERT_TRUE(m);
  const int caller_threads = omp_get_max_threads();
  openblas_set_num_threads(1);  // the state those builds start in
  omp_set_num_threads(caller_threads + 1);
  const image::Image im = pattern(40, 50, 1);
  const csg_image one = view_of(im);
  float logits[5];
  ASSERT_EQ(csg_classify_images(m.get(), &one, 1, logits, nullptr), CSG_OK) << csg_last_error();
  EXPECT_EQ(omp_get_max_threads(), caller_threads + 1);
  omp_set_num_threads(caller_threads);
}

TEST(CApi, SegmentsImagesAsTheEngineDoes) {
  testing::TempDir dir;
  const std::string path = export_segmenter(dir);
  ModelPtr m = open_or_fail(path);
  ASSERT_TRUE(m);
  EXPECT_EQ(csg_model_task(m.get()), CSG_TASK_SEGMENTATION);
  csg_model_set_threads(m.get(), 1);  // small maps: one thread is fastest, and steady on a busy machine
  const std::vector<image::Image> images = {pattern(40, 30, 3), pattern(40, 30, 4)};
  int w = 0, h = 0;
  ASSERT_EQ(csg_model_input_size(m.get(), 40, 30, &w, &h), CSG_OK);
  ASSERT_EQ(w, 40);
  ASSERT_EQ(h, 30);
  const csg_image batch[2] = {view_of(images[0]), view_of(images[1])};
  std::vector<uint8_t> labels(2 * 40 * 30, 255);
  ASSERT_EQ(csg_segment_images(m.get(), batch, 2, labels.data(), nullptr), CSG_OK) << csg_last_error();
  infer::Engine engine(infer::read_model(path));
  const std::vector<image::LabelMap> want = infer::label_maps(engine.run(engine.preprocess(images)));
  for (int n = 0; n < 2; ++n)
    EXPECT_TRUE(std::equal(want[n].values.begin(), want[n].values.end(), labels.begin() + n * 40 * 30)) << n;
  // Images of two sizes cannot form one batch.
  const image::Image other = pattern(41, 30, 5);
  const csg_image mixed[2] = {view_of(images[0]), view_of(other)};
  EXPECT_EQ(csg_segment_images(m.get(), mixed, 2, labels.data(), nullptr), CSG_ERR_IMAGE);
  EXPECT_NE(std::string(csg_last_error()).find("one size"), std::string::npos) << csg_last_error();
}

// Each malformed file: a status, a message naming the file, no model.
void expect_model_error(const std::string& path) {
  csg_model* m = reinterpret_cast<csg_model*>(0x1);
  EXPECT_EQ(csg_model_open(path.c_str(), nullptr, &m), CSG_ERR_MODEL) << path;
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(csg_last_error()).find(path), std::string::npos) << csg_last_error();
}

TEST(CApi, MalformedModelFilesAreErrorsNamingTheFile) {
  testing::TempDir dir;
  const std::string good = export_classifier(dir);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return dir / name;
  };
  expect_model_error(dir / "missing.safetensors");
  expect_model_error(write("garbage.bin", "not a model at all"));
  expect_model_error(write("empty.pth", ""));
  expect_model_error(write("truncated.safetensors", bytes.substr(0, bytes.size() / 2)));
  expect_model_error(write("header_only.safetensors", bytes.substr(0, 200)));
  // The metadata JSON damaged in place (same length, so the offsets still fit).
  std::string bad_meta = bytes;
  const size_t at = bad_meta.find("\\\"arch\\\"");
  ASSERT_NE(at, std::string::npos);
  bad_meta[at + 3] = 'X';
  expect_model_error(write("bad_meta.safetensors", bad_meta));
  // A valid file for another architecture than the one asked for.
  csg_model* m = nullptr;
  EXPECT_EQ(csg_model_open(good.c_str(), "resnet101", &m), CSG_ERR_MODEL);
  EXPECT_NE(std::string(csg_last_error()).find("resnet101"), std::string::npos);
}

TEST(CApi, BadArgumentsAreErrors) {
  testing::TempDir dir;
  csg_model* m = nullptr;
  EXPECT_EQ(csg_model_open(nullptr, nullptr, &m), CSG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(csg_model_open("x", nullptr, nullptr), CSG_ERR_INVALID_ARGUMENT);
  ModelPtr model = open_or_fail(export_classifier(dir));
  ASSERT_TRUE(model);
  int id = 0;
  EXPECT_EQ(csg_classify_images(model.get(), nullptr, 1, nullptr, &id), CSG_ERR_INVALID_ARGUMENT);
  const image::Image im = pattern(8, 8, 0);
  csg_image img = view_of(im);
  EXPECT_EQ(csg_classify_images(model.get(), &img, 0, nullptr, &id), CSG_ERR_INVALID_ARGUMENT);
  img.stride = 5;  // below width * 3
  EXPECT_EQ(csg_classify_images(model.get(), &img, 1, nullptr, &id), CSG_ERR_INVALID_ARGUMENT);
  const std::string missing = dir / "no_such.png";
  const char* paths[1] = {missing.c_str()};
  EXPECT_EQ(csg_classify_files(model.get(), paths, 1, nullptr, &id), CSG_ERR_IMAGE);
  EXPECT_NE(std::string(csg_last_error()).find(missing), std::string::npos) << csg_last_error();
  EXPECT_EQ(csg_model_set_device(model.get(), "tpu"), CSG_ERR_INVALID_ARGUMENT);
  if (!cuda::available()) {
    EXPECT_EQ(csg_model_set_device(model.get(), "cuda"), CSG_ERR_DEVICE);
  }
  EXPECT_EQ(csg_model_set_precision(model.get(), "fp8"), CSG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(csg_last_error()).find("bf16"), std::string::npos) << csg_last_error();
  std::string no_bf16;
  if (!onednn::has_bf16(&no_bf16)) {  // the reason comes back through the API
    EXPECT_EQ(csg_model_set_precision(model.get(), "bf16"), CSG_ERR_DEVICE);
    EXPECT_EQ(std::string(csg_last_error()).find("bf16 inference"), 0u) << csg_last_error();
  } else {
    EXPECT_EQ(csg_model_set_precision(model.get(), "bf16"), CSG_OK) << csg_last_error();
    EXPECT_EQ(csg_classify_images(model.get(), &img, 1, nullptr, &id), CSG_ERR_INVALID_ARGUMENT);  // still checked
    EXPECT_EQ(csg_model_set_precision(model.get(), "f32"), CSG_OK);
  }
  EXPECT_EQ(csg_model_task(nullptr), -1);
  csg_model_free(nullptr);
  EXPECT_STREQ(csg_version(), "0.1.0");
}

TEST(CApi, ExportsATrainingFormatFile) {
  testing::TempDir dir;
  models::ResNetOptions o;
  o.depth = 18, o.width = 4, o.num_classes = 3;
  models::ResNet net(o);
  save_safetensors(dir / "state.safetensors", net.state_dict());
  const std::string in = dir / "state.safetensors", out = dir / "exported.safetensors";
  ASSERT_EQ(csg_export(in.c_str(), nullptr, out.c_str()), CSG_OK) << csg_last_error();
  const infer::ModelWeights m = infer::read_model(out);
  EXPECT_EQ(m.info.arch, "resnet18");
  EXPECT_EQ(m.info.num_classes, 3);
}

}  // namespace
}  // namespace csg
