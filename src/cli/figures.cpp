// src/cli/figures.cpp — `csg gradcam` and `csg segment`: flags into csg/figures.h's calls, which
// draw the paper's qualitative figures from a trained model.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/figures.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"

namespace csg::cli {

void add_gradcam_command(CLI::App& root, Invocation& inv) {
  auto o = std::make_shared<figures::GradCamOptions>();
  CLI::App* c = root.add_subcommand(
      "gradcam", "Grad-CAM of layer4 for one class over images (paper Figure 5): <stem>_gradcam.png, <stem>_cam.npy");
  c->add_option("--checkpoint,--weights", o->model,
                "the classifier (--weights: the same flag): a csg train visda checkpoint, an exported model, or a torchvision .pth/.safetensors")
      ->required();
  c->add_option("--arch", o->arch, "refuse the file unless it holds this architecture (resnet18 .. resnet101)");
  c->add_option("--class", o->class_name,
                "the class whose logit is explained: a name (e.g. car) or an index (empty: each image's prediction)");
  c->add_option("--out", o->out_dir, "folder for the figures (made if missing)");
  add_device_option(c, o->device);
  c->add_option("--images", o->inputs, "image files, folders (their images, sorted) or .txt lists")->required();
  c->callback([o, &inv] {
    inv.action = [o] {
      o->device = resolve_device_flag(o->device);
      const int64_t n = figures::run_gradcam(*o);
      std::printf("Grad-CAM of %lld images in %s\n", static_cast<long long>(n), o->out_dir.c_str());
      return 0;
    };
  });
}

void add_segment_command(CLI::App& root, Invocation& inv) {
  auto o = std::make_shared<figures::SegmentOptions>();
  CLI::App* c = root.add_subcommand(
      "segment", "Cityscapes colour maps of a segmentation model beside the image and the ground truth: "
                 "<stem>_panel.png, <stem>_color.png");
  c->add_option("--checkpoint,--weights", o->model,
                "the model (--weights: the same flag): a csg train gta5 checkpoint, an exported model, or a DeepLab .pth/.safetensors")
      ->required();
  c->add_option("--arch", o->arch, "refuse the file unless it holds this architecture (deeplab18 .. deeplab101)");
  c->add_option("--labels", o->labels_dir,
                "ground truth folder, searched recursively: Cityscapes gtFine (<name>_gtFine_labelIds.png) or GTA5 "
                "labels/ (same file name)");
  c->add_option("--out", o->out_dir, "folder for the figures (made if missing)");
  add_device_option(c, o->device);
  c->add_option("--images", o->inputs, "image files, folders (their images, sorted) or .txt lists")->required();
  c->callback([o, &inv] {
    inv.action = [o] {
      o->device = resolve_device_flag(o->device);
      const int64_t n = figures::run_segment(*o);
      std::printf("segmentation panels of %lld images in %s\n", static_cast<long long>(n), o->out_dir.c_str());
      return 0;
    };
  });
}

}  // namespace csg::cli
