// tests/test_predict_parity.cpp — `csg predict`'s input pipeline (decode, torchvision's
// Resize(256) + CenterCrop(224) + ToTensor + Normalize, a ResNet-18) against torchvision on
// PIL's decode of the same files (tools/reference/make_predict_fixtures.py, run by `make test`
// into build/fixtures/predict when python3-torch is installed).
//
// Tolerance: 1e-5 of the largest logit. With identical pixels the inputs agree to float32
// rounding and the logits to ~1e-7 relative (the same model-parity margins as
// test_model_parity.cpp); a decoder that is off by one level in a few pixels moves them by
// ~1e-3 (stb_image on the JPEGs, checked below), so the check tells decoders apart.
#include <map>

#include "csg/augment.h"
#include "csg/image.h"
#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

using namespace csg;

namespace {

struct PredictFixture {
  models::ResNet model;
  std::map<std::string, Tensor> logits;  // "logits.<name>" -> [1, 10]
  explicit PredictFixture(const std::string& dir) : model(options()) {
    model.load_state_dict(load_pth(dir + "/predict_resnet18.pth"));
    model.eval();
    for (NamedTensor& t : load_safetensors(dir + "/predict_ref.safetensors")) logits[t.name] = t.tensor;
  }
  static models::ResNetOptions options() {
    models::ResNetOptions o;
    o.depth = 18;
    o.num_classes = 10;
    return o;
  }
  // Largest |ours - torchvision| over the logits, relative to the largest |torchvision| logit.
  double relative_error(const std::string& name, const std::string& path) {
    augment::ClassificationTransform t;  // what csg predict runs with its defaults
    t.resize = 256;
    t.crop = 224;
    NoGradGuard ng;
    Tensor ours = model.forward(augment::classification_eval(image::load(path), t).unsqueeze(0));
    const Tensor& ref = logits.at("logits." + name);
    EXPECT_EQ(ours.shape(), ref.shape()) << name;
    const double rel = csg::testing::max_abs_diff(ours, ref) / std::max(csg::testing::max_abs(ref), 1e-12);
    std::printf("  %-18s %-40s max|ref| %8.4f  rel diff %9.2e\n", name.c_str(), path.c_str(),
                csg::testing::max_abs(ref), rel);
    return rel;
  }
};

const std::map<std::string, std::string> kImages = {
    {"jpeg_ycc420", "data/fixtures/jpeg/ycc420.jpg"},
    {"jpeg_progressive", "data/fixtures/jpeg/progressive.jpg"},
    {"jpeg_cmyk", "data/fixtures/jpeg/cmyk.jpg"},
    {"png_source", "data/fixtures/image/source.png"},
};

}  // namespace

TEST(PredictParity, LogitsMatchTorchvisionOnJpegAndPng) {
  const std::string dir = csg::testing::torch_fixture("predict");
  CSG_REQUIRE_FIXTURE(dir + "/predict_ref.safetensors");
  CSG_REQUIRE_LIBJPEG();
  PredictFixture f(dir);
  for (const auto& [name, path] : kImages) EXPECT_LE(f.relative_error(name, path), 1e-5) << name;
}

TEST(PredictParity, StbDecodedJpegIsToldApart) {
  // The same check with stb_image decoding the JPEGs must fail it: the tolerance is tight
  // enough to see a decoder that is not PIL's.
  const std::string dir = csg::testing::torch_fixture("predict");
  CSG_REQUIRE_FIXTURE(dir + "/predict_ref.safetensors");
  PredictFixture f(dir);
  csg::testing::JpegDecoderScope stb(image::JpegDecoder::Stb);
  EXPECT_GT(f.relative_error("jpeg_ycc420", kImages.at("jpeg_ycc420")), 1e-5);
}
