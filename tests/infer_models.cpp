// tests/infer_models.cpp — small networks for the inference and ONNX export tests (infer_models.h).
#include "tests/infer_models.h"

#include <map>

#include "csg/autograd.h"
#include "tests/testing.h"

namespace csg::testing {

void randomise_batch_norm(nn::Module& net, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard ng;
  const std::string suffix = "running_var";
  std::map<std::string, Tensor> by_name;
  for (const NamedTensor& t : net.state_dict()) by_name[t.name] = t.tensor;
  for (const auto& [name, var] : by_name) {
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string bn = name.substr(0, name.size() - suffix.size());  // "layer1.0.bn1."
    Tensor(var).copy_(rand(var.shape(), gen, var.options(), 0.5, 1.5));
    Tensor(by_name[bn + "running_mean"]).copy_(mul(randn(var.shape(), gen, var.options()), 0.1));
    Tensor(by_name[bn + "weight"]).copy_(rand(var.shape(), gen, var.options(), 0.5, 1.5));
    Tensor(by_name[bn + "bias"]).copy_(mul(randn(var.shape(), gen, var.options()), 0.1));
  }
}

infer::ModelWeights weights_of(const nn::Module& net, infer::ModelInfo info) {
  info.class_names = infer::default_class_names(info.task(), info.num_classes);
  return {info, net.state_dict(), ""};
}

double relative_error(const Tensor& got, const Tensor& want) { return max_abs_diff(got, want) / max_abs(want); }

Tensor random_input(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return randn(s, gen);
}

infer::ModelInfo resnet_info(int depth, int64_t width, int64_t classes) {
  infer::ModelInfo m;
  m.arch = "resnet" + std::to_string(depth);
  m.width = width;
  m.num_classes = classes;
  m.head = "fc";
  return m;
}

std::unique_ptr<models::DeepLab> test_deeplab(models::DeepLabHead head) {
  models::DeepLabOptions o;
  o.depth = 18;
  o.num_classes = 5;
  o.head = head;
  o.seed = 7;
  auto net = std::make_unique<models::DeepLab>(o);
  randomise_batch_norm(*net, 8);
  net->eval();
  return net;
}

infer::ModelInfo test_deeplab_info(models::DeepLabHead head) {
  infer::ModelInfo info;
  info.arch = "deeplab18";
  info.num_classes = 5;
  info.head = head == models::DeepLabHead::AsppV2 ? "aspp-v2" : "aspp-csg";
  return info;
}

Tensor test_deeplab_input() { return random_input({2, 3, 41, 57}, 9); }

}  // namespace csg::testing
