// src/figures/gradcam.cpp — Grad-CAM of layer4 (the paper's Figure 5) with the engine's autograd.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/figures.h"
#include "csg/io/npy.h"
#include "csg/models/resnet.h"
#include "csg/ops.h"
#include "csg/plot.h"
#include "csg/predict.h"
#include "src/infer/classifier_network.h"

namespace csg::figures {

namespace fs = std::filesystem;

GradCam grad_cam(const nn::Module& net, const Tensor& x, int64_t cls) {
  const auto* resnet = dynamic_cast<const models::ResNet*>(&net);
  const auto* mlp = dynamic_cast<const infer::MlpHeadResNet*>(&net);
  CSG_CHECK(resnet != nullptr && (mlp != nullptr || resnet->fc), "grad_cam: needs a classifier (a ResNet with fc or "
            "CSG's head); segmentation models have no class logit per image");
  // layer4's output is the last feature map: only the pooling and the head lie above it, so the
  // backbone runs without a tape and A becomes a leaf whose .grad is d logit / d A.
  Tensor a;
  {
    NoGradGuard no_grad;
    a = resnet->forward_features(x).layer[3];
  }
  a = a.detach();
  a.requires_grad_(true);
  const Tensor pooled = global_avg_pool(a);
  const Tensor logits = mlp ? mlp->fc2->forward(relu(mlp->fc1->forward(pooled))) : resnet->fc->forward(pooled);
  CSG_CHECK(cls >= 0 && cls < logits.size(1), "grad_cam: class ", cls, " out of range [0, ", logits.size(1), ")");
  sum(logits.slice(1, cls, cls + 1)).backward();  // images are independent: one backward for all
  GradCam out;
  {
    NoGradGuard no_grad;
    const Tensor weights = mean(a.grad(), {2, 3}, /*keepdim=*/true);              // [N,C,1,1]
    out.cam = relu(sum(mul(weights, a.detach()), {1})).to(Device::CPU).contiguous();  // [N,h,w]
    out.logits = logits.detach().to(Device::CPU).contiguous();
  }
  // The head's parameters got gradients too; nothing steps on them, but leave them clean.
  for (Tensor p : net.parameters()) p.zero_grad();
  return out;
}

Tensor upsample_normalised(const Tensor& cam, int64_t height, int64_t width) {
  CSG_CHECK(cam.dim() == 2, "upsample_normalised: a CAM is [h, w], got ", shape_str(cam.shape()));
  NoGradGuard no_grad;
  Tensor up = upsample_bilinear2d(cam.to(Device::CPU).reshape({1, 1, cam.size(0), cam.size(1)}), height, width,
                                  /*align_corners=*/false)
                  .reshape({height, width})
                  .contiguous();
  float* v = up.data<float>();
  const auto [lo, hi] = std::minmax_element(v, v + up.numel());
  const float min = *lo, range = *hi - *lo;
  for (int64_t i = 0; i < up.numel(); ++i) v[i] = range > 0 ? (v[i] - min) / range : 0.0f;
  return up;
}

image::Image overlay_heatmap(const image::Image& im, const Tensor& cam, double alpha) {
  CSG_CHECK(cam.dim() == 2 && cam.size(0) == im.height && cam.size(1) == im.width, "overlay_heatmap: CAM ",
            shape_str(cam.shape()), " for an image of ", im.width, "x", im.height);
  const Tensor c = cam.to(Device::CPU).contiguous();
  const float* v = c.data<float>();
  image::Image out = im;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const plot::Color h = plot::viridis(v[static_cast<size_t>(y) * im.width + x]);
      uint8_t* p = out.at(x, y);
      const uint8_t hc[3] = {h.r, h.g, h.b};
      for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround((1 - alpha) * p[k] + alpha * hc[k]));
    }
  return out;
}

namespace {
// The model's classes for a message: their names (the first 20 of a long list), or, where the file
// names none (an ImageNet .pth: "0", "1", ...), the range of indices.
std::string describe_classes(const infer::ModelInfo& info) {
  bool named = false;
  for (size_t k = 0; k < info.class_names.size(); ++k) named = named || info.class_names[k] != std::to_string(k);
  if (!named) return "the model's " + std::to_string(info.num_classes) + " classes have no names: give an index 0.." +
                     std::to_string(info.num_classes - 1);
  constexpr size_t kShown = 20;
  std::string names;
  for (size_t k = 0; k < info.class_names.size() && k < kShown; ++k)
    names += (k ? ", " : "") + info.class_names[k];
  if (info.class_names.size() > kShown) names += ", ... (" + std::to_string(info.class_names.size()) + " in all)";
  return "the model's " + std::to_string(info.num_classes) + " classes are: " + names;
}
}  // namespace

int64_t resolve_class(const infer::ModelInfo& info, const std::string& arg) {
  for (size_t k = 0; k < info.class_names.size(); ++k)
    if (info.class_names[k] == arg) return static_cast<int64_t>(k);
  char* end = nullptr;
  const long long k = std::strtoll(arg.c_str(), &end, 10);
  CSG_CHECK(!arg.empty() && end && *end == '\0', "--class '", arg, "' is neither a class name nor a number; ",
            describe_classes(info));
  CSG_CHECK(k >= 0 && k < info.num_classes, "--class ", k, " is out of range (0..", info.num_classes - 1, "); ",
            describe_classes(info));
  return k;
}

int64_t run_gradcam(const GradCamOptions& o) {
  const std::vector<std::string> paths = infer::expand_inputs(o.inputs);
  const std::vector<std::string> stems = infer::output_stems(paths, o.out_dir, "gradcam");
  const infer::ModelWeights weights = infer::read_model(o.model, o.arch);
  const infer::ModelInfo& info = weights.info;
  CSG_CHECK(info.task() == infer::Task::Classification, o.model, ": a ", info.arch,
            " segmentation model; Grad-CAM needs a classifier (a VisDA checkpoint or a ResNet state dict)");
  const int64_t fixed = o.class_name.empty() ? -1 : resolve_class(info, o.class_name);
  const Device dev = parse_device(o.device);
  std::shared_ptr<nn::Module> net = infer::build_network(weights);
  net->to(dev);
  fs::create_directories(o.out_dir);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    // The network's view of the image, as `csg predict` preprocesses it.
    const image::Image view = image::center_crop(image::resize_shorter_side(image::load(path), info.resize),
                                                 info.crop, info.crop);
    const Tensor x = image::to_tensor(view, info.mean, info.std).unsqueeze(0).to(dev);
    int64_t cls = fixed;
    if (cls < 0) {  // each image's own prediction
      NoGradGuard no_grad;
      cls = infer::class_ids(infer::forward_network(*net, info, x).to(Device::CPU))[0];
    }
    const GradCam g = grad_cam(*net, x, cls);
    const Tensor cam = upsample_normalised(g.cam.select(0, 0), view.height, view.width);
    // The network's view beside the CAM over it.
    image::Image panel;
    panel.width = 2 * view.width;
    panel.height = view.height;
    panel.rgb.resize(static_cast<size_t>(panel.width) * panel.height * 3);
    const image::Image heat = overlay_heatmap(view, cam);
    for (int y = 0; y < view.height; ++y) {
      std::copy(view.at(0, y), view.at(0, y) + 3 * view.width, panel.at(0, y));
      std::copy(heat.at(0, y), heat.at(0, y) + 3 * view.width, panel.at(view.width, y));
    }
    const std::string& stem = stems[i];
    image::save_png(stem + "_gradcam.png", panel);
    save_npy(stem + "_cam.npy", cam);
    std::printf("%s: class %s (%lld, logit %.4f): wrote %s_gradcam.png, %s_cam.npy\n", path.c_str(),
                info.class_names[cls].c_str(), static_cast<long long>(cls), g.logits.data<float>()[cls], stem.c_str(),
                stem.c_str());
  }
  return static_cast<int64_t>(paths.size());
}

}  // namespace csg::figures
