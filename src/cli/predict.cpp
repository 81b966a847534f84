// src/cli/predict.cpp — `csg predict`: ImageNet-style inference with torchvision weights.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "csg/augment.h"
#include "csg/csg.h"
#include "csg/image.h"
#include "csg/io/npy.h"
#include "csg/io/pth.h"
#include "csg/models/resnet.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"

namespace csg::cli {

namespace {

struct PredictFlags {
  std::string arch = "resnet101", weights, device = "cpu", out, mean, std;
  int64_t num_classes = 1000;
  int resize = 256, crop = 224;
  bool all = false;
  std::vector<std::string> inputs;
};

bool is_image_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// Files as given; a folder stands for its image files (.jpg, .jpeg, .png, .bmp), sorted.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (!fs::is_directory(in, ec)) {
      files.push_back(in);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(in, ec))
      if (e.is_regular_file() && is_image_name(e.path())) found.push_back(e.path().string());
    CSG_CHECK(!found.empty(), in, ": a folder with no image files (.jpg, .jpeg, .png, .bmp)");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

int predict(const PredictFlags& f) {
  models::ResNetOptions opt;
  opt.depth = models::resnet_depth_from_name(f.arch);
  opt.num_classes = f.num_classes;
  const std::vector<std::string> images = expand_inputs(f.inputs);
  models::ResNet model(opt);
  std::fprintf(stderr, "loading %s\n", f.weights.c_str());
  model.load_state_dict(load_pth(f.weights), /*strict=*/true);
  model.eval();
  const Device dev = parse_device(f.device);
  model.to(dev);
  // torchvision's evaluation transform (tests/test_predict_parity.cpp checks it against torchvision).
  augment::ClassificationTransform t;
  t.resize = f.resize;
  t.crop = f.crop;
  if (!f.mean.empty()) t.mean = parse_triple("--mean", f.mean);
  if (!f.std.empty()) t.std = parse_triple("--std", f.std);
  std::vector<Tensor> rows;
  NoGradGuard ng;
  for (const std::string& path : images) {
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
    if (f.all) {
      std::printf("logits:");
      for (float x : v) std::printf(" %.6g", x);
      std::printf("\n");
    }
  }
  if (!f.out.empty()) {
    save_npy(f.out, cat(rows, 0));
    std::fprintf(stderr, "wrote logits [%zu,%lld] to %s\n", rows.size(), static_cast<long long>(opt.num_classes),
                 f.out.c_str());
  }
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& root, Invocation& inv) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* c = root.add_subcommand(
      "predict", "classify images with a torchvision ResNet checkpoint (torchvision's ImageNet preprocessing)");
  c->add_option("--arch", f->arch, "the network of the weights")->check(CLI::IsMember(kClassifierArchs));
  c->add_option("--weights", f->weights, "torch.save(model.state_dict()) file (.pth, zip or legacy format)")->required();
  c->add_option("--num-classes", f->num_classes, "classes of the fc layer")->check(CLI::PositiveNumber);
  c->add_option("--resize", f->resize, "resize the shorter side to this (PIL's antialiased bilinear)")
      ->check(CLI::PositiveNumber);
  c->add_option("--crop", f->crop, "centre crop")->check(CLI::PositiveNumber);
  c->add_option("--mean", f->mean, "normalisation mean R,G,B (default: ImageNet's 0.485,0.456,0.406)");
  c->add_option("--std", f->std, "normalisation std R,G,B (default: ImageNet's 0.229,0.224,0.225)");
  c->add_option("--device", f->device, "where to compute")->check(CLI::IsMember(kDevices));
  c->add_flag("--all", f->all, "print every logit, not only the top 5");
  c->add_option("--out", f->out, "write the logits [N, classes] as .npy");
  c->add_option("images", f->inputs, "image files, or folders (their .jpg/.jpeg/.png/.bmp files, sorted)")->required();
  c->callback([f, &inv] { inv.action = [f] { return predict(*f); }; });
}

}  // namespace csg::cli
