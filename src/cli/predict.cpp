// src/cli/predict.cpp — `csg predict`: ImageNet-style inference with torchvision weights.
//
//   csg predict --arch resnet101 --weights resnet101-63fe2227.pth [--num-classes 1000]
//               [--resize 256] [--crop 224] [--mean 0.485,0.456,0.406] [--std 0.229,0.224,0.225]
//               [--device cpu|cuda] [--all] [--out logits.npy] IMAGE...
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "csg/augment.h"
#include "csg/csg.h"
#include "csg/image.h"
#include "csg/io/npy.h"
#include "csg/io/pth.h"
#include "csg/models/resnet.h"
#include "src/cli/args.h"

namespace csg::cli {

namespace {
std::array<float, 3> parse_triple(const std::string& flag, const std::string& s) {
  std::array<float, 3> v{};
  std::stringstream ss(s);
  std::string item;
  int i = 0;
  while (std::getline(ss, item, ',')) {
    CSG_CHECK(i < 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
    v[i++] = std::stof(item);
  }
  CSG_CHECK(i == 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
  return v;
}
}  // namespace

int run_predict(int argc, char** argv) {
  Args a(argc, argv, {"--arch", "--weights", "--num-classes", "--resize", "--crop", "--mean", "--std", "--device", "--out"},
         {"--all"});
  CSG_CHECK(!a.positional().empty(), "predict: give at least one image path");
  const std::string arch = a.get("--arch", "resnet101");
  models::ResNetOptions opt;
  opt.depth = models::resnet_depth_from_name(arch);
  opt.num_classes = a.get_int("--num-classes", 1000);
  models::ResNet model(opt);
  const std::string weights = a.require("--weights");
  std::fprintf(stderr, "loading %s\n", weights.c_str());
  std::vector<NamedTensor> sd = load_pth(weights);
  model.load_state_dict(sd, /*strict=*/true);
  model.eval();
  const Device dev = parse_device(a.get("--device", "cpu"));
  model.to(dev);

  // torchvision's evaluation transform (tests/test_predict_parity.cpp checks it against torchvision).
  augment::ClassificationTransform t;
  t.resize = static_cast<int>(a.get_int("--resize", 256));
  t.crop = static_cast<int>(a.get_int("--crop", 224));
  if (a.has("--mean")) t.mean = parse_triple("--mean", a.get("--mean", ""));
  if (a.has("--std")) t.std = parse_triple("--std", a.get("--std", ""));
  std::vector<Tensor> rows;
  NoGradGuard ng;
  for (const std::string& path : a.positional()) {
    Tensor x = augment::classification_eval(image::load(path), t).unsqueeze(0).to(dev);
    Tensor logits = model.forward(x).to(Device::CPU);
    rows.push_back(logits);
    std::vector<float> v = logits.to_float_vector();
    std::vector<int> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t k = std::min<size_t>(5, v.size());
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int i, int j) { return v[i] > v[j]; });
    std::printf("%s: top-%zu", path.c_str(), k);
    for (size_t i = 0; i < k; ++i) std::printf(" %d (%.4f)", order[i], v[order[i]]);
    std::printf("\n");
    if (a.has("--all")) {
      std::printf("logits:");
      for (float f : v) std::printf(" %.6g", f);
      std::printf("\n");
    }
  }
  if (a.has("--out")) {
    save_npy(a.get("--out", ""), cat(rows, 0));
    std::fprintf(stderr, "wrote logits [%zu,%lld] to %s\n", rows.size(), static_cast<long long>(opt.num_classes),
                 a.get("--out", "").c_str());
  }
  return 0;
}

}  // namespace csg::cli
