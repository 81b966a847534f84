// tests/test_weights_files.cpp — `--weights` reads every model file `csg predict` reads: a csg
// training checkpoint, a `csg export` file, a state dict (.safetensors, .pth) with or without BN's
// num_batches_tracked; f_e and f_eo start from its backbone. A csg model exported from one run
// trains as the prior of the next; a file of another stem or width is refused naming the file.
#include <cmath>
#include <filesystem>

#include "csg/data/tiny.h"
#include "csg/infer.h"
#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

train::Config tiny_digits_like(const std::string& data, const std::string& out, const std::string& stem) {
  train::Config c = csg::testing::tiny_visda_config(data, out);
  c.layers = train::default_config(train::Task::Visda).layers;  // both layer groups, as the digits models
  c.stem = models::parse_stem(stem);
  c.lr = 0.1;
  c.max_steps = 3;
  return c;
}

// f_eo's backbone (the frozen prior) by name.
std::map<std::string, Tensor> prior_backbone(const train::Config& c) {
  train::CsgNetwork net(c);
  std::map<std::string, Tensor> m;
  for (const NamedTensor& t : net.encoder_k->state_dict()) m[t.name] = t.tensor;
  return m;
}

}  // namespace

TEST(WeightsFiles, EveryModelFilePredictReadsIsAPrior) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda");
  data::write_tiny_visda(data, 0, 24, 12);
  // A first run, small stem as the digits models: its checkpoint is the source of every file below.
  train::Config first = tiny_digits_like(data, tmp / "first", "small");
  const train::TrainSummary s = train::run_training(first);
  ASSERT_FALSE(s.final_checkpoint.empty());
  const infer::ModelWeights trained = infer::read_model(s.final_checkpoint);
  std::map<std::string, Tensor> want;
  for (const NamedTensor& t : trained.tensors) want[t.name] = t.tensor;

  // The export drops BN's num_batches_tracked; the plain state dict is the backbone and head as
  // a user would save them, without it too.
  infer::export_model(tmp / "exported.safetensors", trained);
  std::vector<NamedTensor> plain;
  for (const NamedTensor& t : trained.tensors)
    if (t.name.find("num_batches_tracked") == std::string::npos) plain.push_back(t);
  save_safetensors(tmp / "plain.safetensors", plain);
  for (const std::string& file : {s.final_checkpoint, tmp / "exported.safetensors", tmp / "plain.safetensors"}) {
    train::Config c = tiny_digits_like(data, tmp / "unused", "small");
    c.weights = file;
    const std::map<std::string, Tensor> got = prior_backbone(c);
    size_t compared = 0;
    for (const auto& [name, t] : got) {
      if (name.find("num_batches_tracked") != std::string::npos) continue;
      ASSERT_TRUE(want.count(name)) << file << ": " << name;
      EXPECT_EQ(t.to_vector(), want[name].to_vector()) << file << ": " << name;
      ++compared;
    }
    EXPECT_GT(compared, 50u) << file;
  }

  // The exported model trains as the prior of a new run, which then exports in turn.
  train::Config second = tiny_digits_like(data, tmp / "second", "small");
  second.weights = tmp / "exported.safetensors";
  const train::TrainSummary t = train::run_training(second);
  EXPECT_EQ(t.steps, 3);
  EXPECT_TRUE(std::isfinite(t.last_loss));
  EXPECT_EQ(infer::read_model(t.final_checkpoint).info.stem, "small");

  // Another stem (conv1 7x7 expected, 3x3 found): refused, naming the file and the fix.
  train::Config other = tiny_digits_like(data, tmp / "other", "imagenet");
  other.weights = tmp / "exported.safetensors";
  try {
    train::CsgNetwork net(other);
    FAIL() << "a small-stem prior was loaded into an imagenet-stem network";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(tmp / "exported.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--stem"), std::string::npos) << msg;
  }
}

// torchvision's own .pth (the ImageNet weights' format): read as before.
TEST(WeightsFiles, TorchvisionPth) {
  const std::string pth = csg::testing::torch_fixture("resnet18.pth");
  if (!csg::testing::file_exists(pth)) GTEST_SKIP() << pth << " missing (make test generates it with python3-torch)";
  csg::testing::TempDir tmp;
  train::Config c = tiny_digits_like("", tmp / "unused", "imagenet");
  c.width = 64;
  c.weights = pth;
  const std::map<std::string, Tensor> got = prior_backbone(c);
  for (const NamedTensor& t : load_pth(pth))
    if (t.name == "layer2.1.conv2.weight") {
      EXPECT_EQ(got.at(t.name).to_vector(), t.tensor.to_vector());
    }
}
