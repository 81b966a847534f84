// tests/test_model_parity.cpp — whole models against torchvision: weights saved by torch.save
// are read with our .pth reader; the layer outputs, logits and loss in float32, and the loss
// and parameter gradients of the same model converted to float64, are compared with those
// PyTorch recorded (tools/reference/make_model_fixtures.py, run by `make test` into
// build/fixtures when python3-torch is installed).
//
// Tolerances: relative to the largest magnitude of the reference tensor. Forward values agree
// to ~1e-6 in float32; 1e-4 leaves room for the different summation orders of im2col+GEMM vs
// PyTorch's convolution through 100+ layers. Gradients are compared in float64 (1e-11; they
// agree to ~3e-15): in float32 a ReLU input within rounding of zero can take the other sign on
// one side and move a gradient by percent (the fixture script's docstring has the measurement).
#include <cmath>
#include <functional>
#include <map>

#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

using namespace csg;

namespace {

std::map<std::string, Tensor> load_reference(const std::string& file) {
  std::map<std::string, Tensor> m;
  for (NamedTensor& t : load_safetensors(file)) m[t.name] = t.tensor;
  return m;
}

void expect_close(const std::string& what, const Tensor& ours, const Tensor& ref, double rel_tol) {
  ASSERT_EQ(ours.shape(), ref.shape()) << what;
  double diff = csg::testing::max_abs_diff(ours, ref), scale = std::max(csg::testing::max_abs(ref), 1e-12);
  std::printf("  %-48s max|ref| %10.4g  max|diff| %10.3g  rel %9.2e\n", what.c_str(), scale, diff, diff / scale);
  EXPECT_LE(diff / scale, rel_tol) << what;
}

// Converts `model` to float64, runs loss_of() (forward and loss, in float64) and its backward,
// and compares the loss and every "f64.grad.<name>" reference with the parameter's gradient.
void check_float64_gradients(const std::string& name, nn::Module& model, std::map<std::string, Tensor>& ref,
                             const std::function<Tensor()>& loss_of) {
  model.to(DType::F64);
  Tensor loss = loss_of();
  ASSERT_EQ(loss.dtype(), DType::F64);
  expect_close(name + " f64.loss", loss.reshape({1}), ref.at("f64.loss"), 1e-12);
  loss.backward();
  std::map<std::string, Tensor> params;
  for (const NamedTensor& p : model.named_parameters()) params[p.name] = p.tensor;
  int compared = 0;
  for (auto& [key, g] : ref)
    if (key.rfind("f64.grad.", 0) == 0) {
      expect_close(name + " " + key, params.at(key.substr(9)).grad(), g, 1e-11);
      ++compared;
    }
  EXPECT_GT(compared, 0) << name << ": the fixture holds no f64.grad.* entries (regenerate it: make test)";
}

void check_resnet(const std::string& name, int depth, int64_t classes, bool dilate) {
  const std::string pth = csg::testing::torch_fixture(name + ".pth"),
                    ref_file = csg::testing::torch_fixture(name + "_ref.safetensors");
  CSG_REQUIRE_FIXTURE(pth);
  CSG_REQUIRE_FIXTURE(ref_file);
  models::ResNetOptions o;
  o.depth = depth;
  o.num_classes = classes;
  o.dilate_layer3 = o.dilate_layer4 = dilate;
  models::ResNet model(o);
  model.load_state_dict(load_pth(pth));
  model.eval();
  auto ref = load_reference(ref_file);
  models::ResNetFeatures f = model.forward_features(ref["input"]);
  for (int s = 0; s < 4; ++s)
    expect_close(name + " layer" + std::to_string(s + 1), f.layer[s], ref["layer" + std::to_string(s + 1)], 1e-4);
  Tensor logits = model.fc->forward(global_avg_pool(f.layer[3]));
  expect_close(name + " logits", logits, ref["logits"], 1e-4);
  Tensor target = ref["target"].to(DType::I64);
  Tensor loss = cross_entropy(logits, target);
  expect_close(name + " loss", loss.reshape({1}), ref["loss"], 1e-4);
  check_float64_gradients(name, model, ref, [&] {
    return cross_entropy(model.fc->forward(global_avg_pool(model.forward_features(ref["input"].to(DType::F64)).layer[3])),
                         target);
  });
}

}  // namespace

TEST(ModelParity, ResNet18) { check_resnet("resnet18", 18, 10, false); }
TEST(ModelParity, ResNet50) { check_resnet("resnet50", 50, 12, false); }
TEST(ModelParity, ResNet101) { check_resnet("resnet101", 101, 12, false); }
TEST(ModelParity, ResNet50Dilated) { check_resnet("resnet50_dilated", 50, 19, true); }

TEST(ModelParity, DeepLab50) {
  const std::string pth = csg::testing::torch_fixture("deeplab50.pth"),
                    ref_file = csg::testing::torch_fixture("deeplab50_ref.safetensors");
  CSG_REQUIRE_FIXTURE(pth);
  CSG_REQUIRE_FIXTURE(ref_file);
  models::DeepLabOptions o;
  o.depth = 50;
  models::DeepLab model(o);
  model.load_state_dict(load_pth(pth));
  model.eval();
  auto ref = load_reference(ref_file);
  Tensor x = ref["input"];
  models::ResNetFeatures f = model.forward_features(x);
  expect_close("deeplab50 layer4", f.layer[3], ref["layer4"], 1e-4);
  Tensor logits = upsample_bilinear2d(model.head_forward(f.layer[3]), x.size(2), x.size(3), true);
  expect_close("deeplab50 logits", logits, ref["logits"], 1e-4);
  Tensor target = ref["target"].to(DType::I64);
  Tensor loss = cross_entropy(logits, target, 255);
  expect_close("deeplab50 loss", loss.reshape({1}), ref["loss"], 1e-4);
  check_float64_gradients("deeplab50", model, ref, [&] {
    Tensor x64 = x.to(DType::F64);
    Tensor low = model.head_forward(model.forward_features(x64).layer[3]);
    return cross_entropy(upsample_bilinear2d(low, x.size(2), x.size(3), true), target, 255);
  });
}
