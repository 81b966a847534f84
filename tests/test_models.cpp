// tests/test_models.cpp — module bookkeeping and the structure of the ResNet / DeepLab builds
// (the numerical parity with torchvision is in test_model_parity.cpp).
#include "csg/autograd.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

using namespace csg;

namespace {
// Counts from torchvision 0.x `resnetD(num_classes=12)`: len(state_dict()), parameter elements.
struct Expect {
  int depth;
  size_t keys;
  size_t params;
};
}  // namespace

TEST(Models, ResNetStateDictMatchesTorchvision) {
  for (Expect e : {Expect{18, 122, 11182668}, Expect{34, 218, 21290828}, Expect{50, 320, 23532620},
                   Expect{101, 626, 42524748}}) {
    models::ResNetOptions o;
    o.depth = e.depth;
    o.num_classes = 12;
    models::ResNet m(o);
    nn::NamedTensors sd = m.state_dict();
    EXPECT_EQ(sd.size(), e.keys) << "resnet" << e.depth;
    EXPECT_EQ(m.num_parameters(), e.params) << "resnet" << e.depth;
    EXPECT_EQ(sd[0].name, "conv1.weight");
    EXPECT_EQ(sd[5].name, "bn1.num_batches_tracked");
    EXPECT_EQ(sd[6].name, "layer1.0.conv1.weight");
    EXPECT_EQ(sd.back().name, "fc.bias");
  }
}

TEST(Models, ResNetNamesAndShapes) {
  models::ResNetOptions o;
  o.depth = 101;
  models::ResNet m(o);
  std::map<std::string, Shape> shapes;
  for (const NamedTensor& t : m.state_dict()) shapes[t.name] = t.tensor.shape();
  EXPECT_EQ(shapes["layer3.22.conv2.weight"], (Shape{256, 256, 3, 3}));
  EXPECT_EQ(shapes["layer4.0.downsample.0.weight"], (Shape{2048, 1024, 1, 1}));
  EXPECT_EQ(shapes["layer2.0.conv2.weight"], (Shape{128, 128, 3, 3}));
  EXPECT_EQ(shapes["fc.weight"], (Shape{1000, 2048}));
  EXPECT_EQ(m.stage_channels(3), 1024);
  EXPECT_EQ(shapes.count("layer1.1.downsample.0.weight"), 0u);
  EXPECT_THROW(models::resnet_depth_from_name("resnet152"), Error);
}

// The small-image stems keep torchvision's names (only conv1's kernel differs) and keep a
// spatial map at layers 3 and 4 of a 32 px input: 2x2 / 1x1 with the ImageNet stem, 4x4 / 2x2
// with `small`, 8x8 / 4x4 with `cifar`.
TEST(Models, SmallImageStemsKeepNamesAndSpatialMaps) {
  struct Case {
    models::Stem stem;
    int64_t kernel, side3, side4;
  };
  std::vector<std::string> imagenet_names;
  for (Case c : {Case{models::Stem::ImageNet, 7, 2, 1}, Case{models::Stem::Small, 3, 4, 2},
                 Case{models::Stem::Cifar, 3, 8, 4}}) {
    models::ResNetOptions o;
    o.depth = 18;
    o.width = 4;
    o.num_classes = 5;
    o.stem = c.stem;
    models::ResNet m(o);
    EXPECT_EQ(m.stem(), c.stem);
    std::vector<std::string> names;
    for (const NamedTensor& t : m.state_dict()) names.push_back(t.name);
    if (imagenet_names.empty()) imagenet_names = names;
    EXPECT_EQ(names, imagenet_names) << models::stem_name(c.stem);
    EXPECT_EQ(m.conv1->weight.shape(), (Shape{4, 3, c.kernel, c.kernel}));
    m.eval();
    NoGradGuard ng;
    const models::ResNetFeatures f = m.forward_features(zeros({1, 3, 32, 32}));
    EXPECT_EQ(f.layer[2].shape(), (Shape{1, 16, c.side3, c.side3})) << models::stem_name(c.stem);
    EXPECT_EQ(f.layer[3].shape(), (Shape{1, 32, c.side4, c.side4})) << models::stem_name(c.stem);
    EXPECT_EQ(models::parse_stem(models::stem_name(c.stem)), c.stem);
  }
  EXPECT_THROW(models::parse_stem("tiny"), Error);
}

TEST(Models, DeepLabHeadNamesFollowTheReference) {
  models::DeepLabOptions o;
  o.depth = 50;
  models::DeepLab m(o);
  std::map<std::string, Shape> shapes;
  for (const NamedTensor& t : m.state_dict()) shapes[t.name] = t.tensor.shape();
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.0.convs.0.0.weight"], (Shape{256, 2048, 1, 1}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.0.convs.3.0.weight"], (Shape{256, 2048, 3, 3}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.0.convs.4.1.weight"], (Shape{256, 2048, 1, 1}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.0.convs.4.2.running_var"], (Shape{256}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.0.project.0.weight"], (Shape{256, 1280, 1, 1}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.1.weight"], (Shape{256, 256, 3, 3}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.4.weight"], (Shape{19, 256, 1, 1}));
  EXPECT_EQ(shapes["fc_new.conv2d_list.0.4.bias"], (Shape{19}));
  EXPECT_EQ(shapes["layer3.0.downsample.0.weight"], (Shape{1024, 512, 1, 1}));
  EXPECT_EQ(shapes.count("fc.weight"), 0u);
  o.head = models::DeepLabHead::AsppV2;
  models::DeepLab v2(o);
  std::map<std::string, Shape> s2;
  for (const NamedTensor& t : v2.state_dict()) s2[t.name] = t.tensor.shape();
  EXPECT_EQ(s2["fc_new.conv2d_list.3.weight"], (Shape{19, 2048, 3, 3}));
  EXPECT_EQ(s2["fc_new.conv2d_list.3.bias"], (Shape{19}));
}

TEST(Models, LoadStateDictChecksNamesAndShapes) {
  models::ResNetOptions o;
  o.depth = 18;
  o.num_classes = 10;
  models::ResNet a(o), b(o);
  o.seed = 1;
  models::ResNet c(o);
  EXPECT_GT(csg::testing::max_abs_diff(a.conv1->weight, c.conv1->weight), 0);
  c.load_state_dict(a.state_dict());
  EXPECT_EQ(csg::testing::max_abs_diff(a.conv1->weight, c.conv1->weight), 0);
  nn::NamedTensors sd = a.state_dict();
  sd.pop_back();  // fc.bias missing
  EXPECT_THROW(b.load_state_dict(sd), Error);
  auto rep = b.load_state_dict(sd, /*strict=*/false);
  ASSERT_EQ(rep.missing.size(), 1u);
  EXPECT_EQ(rep.missing[0], "fc.bias");
  sd = a.state_dict();
  sd.push_back({"extra.weight", zeros({1})});
  EXPECT_THROW(b.load_state_dict(sd), Error);
  sd = a.state_dict();
  sd[0].tensor = zeros({64, 3, 3, 3});
  try {
    b.load_state_dict(sd);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv1.weight"), std::string::npos) << e.what();
  }
}

TEST(Models, FreezeAndModes) {
  models::ResNetOptions o;
  o.depth = 18;
  models::ResNet m(o);
  EXPECT_TRUE(m.is_training());
  m.eval();
  EXPECT_FALSE(m.bn1->is_training());
  EXPECT_FALSE(m.parameters().empty());
  m.freeze();
  EXPECT_TRUE(m.parameters().empty());
}

TEST(Models, ToFloat64ConvertsFloatTensorsAndKeepsNamesAndTraining) {
  models::ResNetOptions o;
  o.depth = 18;
  o.width = 8;
  o.num_classes = 3;
  models::ResNet m(o);
  m.bn1->freeze();  // a frozen parameter stays frozen
  const nn::NamedTensors before = m.state_dict();
  m.to(DType::F64);
  const nn::NamedTensors after = m.state_dict();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    SCOPED_TRACE(before[i].name);
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].tensor.name(), before[i].tensor.name());
    // num_batches_tracked stays an integer, as in PyTorch's module.double().
    const DType want = before[i].tensor.dtype() == DType::I64 ? DType::I64 : DType::F64;
    EXPECT_EQ(after[i].tensor.dtype(), want);
    EXPECT_EQ(after[i].tensor.requires_grad(), before[i].tensor.requires_grad());
    EXPECT_EQ(csg::testing::max_abs_diff(after[i].tensor.to(DType::F64), before[i].tensor.to(DType::F64)), 0.0);
  }
  // The converted model runs in float64 end to end, and its gradients arrive in float64.
  Generator gen(3);
  Tensor loss = sum(m.forward(randn({2, 3, 32, 32}, gen, {DType::F64})));
  EXPECT_EQ(loss.dtype(), DType::F64);
  loss.backward();
  EXPECT_EQ(m.fc->weight.grad().dtype(), DType::F64);
  EXPECT_FALSE(m.bn1->weight.grad().defined());
  EXPECT_THROW(m.to(DType::I64), Error);
}

TEST(Models, ToCudaMovesFloatsAndKeepsCountersOnTheHost) {
  CSG_REQUIRE_CUDA();
  models::ResNetOptions o;
  o.depth = 18;
  o.width = 8;
  o.num_classes = 3;
  models::ResNet m(o);
  m.to(Device::CUDA);
  for (const NamedTensor& t : m.state_dict()) {
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.tensor.device(), t.tensor.dtype() == DType::I64 ? Device::CPU : Device::CUDA);
  }
  // A training forward on the device counts its batches on the host.
  Generator gen(4);
  m.forward(randn({2, 3, 32, 32}, gen, {DType::F32, Device::CUDA}));
  EXPECT_EQ(m.bn1->num_batches_tracked.item(), 1.0);
}
