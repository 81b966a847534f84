// tests/test_gradcam.cpp — `csg gradcam` (csg/figures.h): Grad-CAM of layer4 against PyTorch's
// on the same torchvision ResNet-18 weights and inputs (tools/reference/make_gradcam_fixtures.py,
// run by `make test` into build/fixtures/gradcam when python3-torch is installed), and the
// command's files and errors on a small random model.
//
// Tolerances: the raw CAM within 1e-4 of its largest value and the logits within 1e-5 of the
// largest logit (float32 sums in another order through 18 layers and a backward; measured
// ~1e-6); the upsampled, min-max normalised CAM within 1e-4 absolute (it is in [0, 1]).
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "csg/figures.h"
#include "csg/io/npy.h"
#include "csg/io/safetensors.h"
#include "csg/models/resnet.h"
#include "csg/plot.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {
void expect_error_contains(const std::function<void()>& fn, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << text << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(GradCam, MatchesPyTorchOnResNet18) {
  const std::string dir = csg::testing::torch_fixture("gradcam");
  CSG_REQUIRE_FIXTURE(dir + "/gradcam_ref.safetensors");
  std::map<std::string, Tensor> ref;
  for (NamedTensor& t : load_safetensors(dir + "/gradcam_ref.safetensors")) ref[t.name] = t.tensor;
  const infer::ModelWeights w = infer::read_model(dir + "/gradcam_resnet18.pth", "resnet18");
  const auto net = infer::build_network(w);
  const figures::GradCam g = figures::grad_cam(*net, ref.at("x"), 3);
  ASSERT_EQ(g.cam.shape(), ref.at("cam").shape());
  const double cam_rel = csg::testing::max_abs_diff(g.cam, ref.at("cam")) / csg::testing::max_abs(ref.at("cam"));
  const double logit_rel =
      csg::testing::max_abs_diff(g.logits, ref.at("logits")) / csg::testing::max_abs(ref.at("logits"));
  std::printf("  raw CAM rel diff %.2e, logits rel diff %.2e\n", cam_rel, logit_rel);
  EXPECT_LE(cam_rel, 1e-4);
  EXPECT_LE(logit_rel, 1e-5);
  const Tensor& up = ref.at("cam_up");
  for (int64_t i = 0; i < up.size(0); ++i) {
    const Tensor ours = figures::upsample_normalised(g.cam.select(0, i), up.size(1), up.size(2));
    const double d = csg::testing::max_abs_diff(ours, up.select(0, i));
    std::printf("  image %lld: normalised CAM max diff %.2e\n", static_cast<long long>(i), d);
    EXPECT_LE(d, 1e-4) << i;
  }
  // The backward left no gradient on the model.
  for (const Tensor& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(GradCam, ConstantCamNormalisesToZeroAndOverlayBlends) {
  const Tensor flat = from_vector(std::vector<float>(6, 0.5f), {2, 3});
  const Tensor up = figures::upsample_normalised(flat, 4, 5);
  EXPECT_EQ(up.shape(), Shape({4, 5}));
  EXPECT_EQ(csg::testing::max_abs(up), 0.0);
  image::Image im;
  im.width = 5, im.height = 4;
  im.rgb.assign(5 * 4 * 3, 200);
  const image::Image o = figures::overlay_heatmap(im, up, 0.5);
  const plot::Color v0 = plot::viridis(0.0);
  EXPECT_EQ(o.at(2, 1)[0], static_cast<uint8_t>(std::lround(0.5 * 200 + 0.5 * v0.r)));
  EXPECT_EQ(o.at(2, 1)[2], static_cast<uint8_t>(std::lround(0.5 * 200 + 0.5 * v0.b)));
}

TEST(GradCam, ResolvesClassNamesAndNumbers) {
  infer::ModelInfo info;
  info.num_classes = 3;
  info.class_names = {"aeroplane", "bicycle", "bus"};
  EXPECT_EQ(figures::resolve_class(info, "bus"), 2);
  EXPECT_EQ(figures::resolve_class(info, "1"), 1);
  expect_error_contains([&] { figures::resolve_class(info, "3"); }, "out of range");
  expect_error_contains([&] { figures::resolve_class(info, "truck"); }, "aeroplane, bicycle, bus");
}

TEST(GradCam, CommandWritesPanelAndCamPerImage) {
  csg::testing::TempDir tmp;
  models::ResNetOptions mo;
  mo.depth = 18;
  mo.width = 8;
  mo.num_classes = 4;
  models::ResNet model(mo);
  save_safetensors(tmp / "small.safetensors", model.state_dict());
  image::Image im;
  im.width = 40, im.height = 30;
  for (int i = 0; i < 40 * 30 * 3; ++i) im.rgb.push_back(static_cast<uint8_t>((i * 37) % 256));
  image::save_png(tmp.subdir("in") + "/a.png", im);
  figures::GradCamOptions o;
  o.model = tmp / "small.safetensors";
  o.inputs = {tmp / "in"};
  o.out_dir = tmp / "out";
  o.class_name = "2";
  EXPECT_EQ(figures::run_gradcam(o), 1);
  const image::Image panel = image::load(tmp / "out/a_gradcam.png");
  EXPECT_EQ(panel.width, 2 * 224);  // the model file's default view: resize 256, centre crop 224
  EXPECT_EQ(panel.height, 224);
  const Tensor cam = load_npy(tmp / "out/a_cam.npy");
  EXPECT_EQ(cam.shape(), Shape({224, 224}));
  o.class_name = "4";
  expect_error_contains([&] { figures::run_gradcam(o); }, "--class 4 is out of range");
  o.class_name = "";
  o.inputs = {tmp / "missing.png"};
  expect_error_contains([&] { figures::run_gradcam(o); }, "missing.png");
}
