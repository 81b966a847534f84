// csg/figures.h — the paper's qualitative figures from a trained model, as PNGs:
//
//   Grad-CAM (Figure 5)      csg gradcam --checkpoint C [--class K] --images IMAGES... --out DIR
//   segmentation panels      csg segment --checkpoint C [--labels DIR] --images IMAGES... --out DIR
//
// (The feature-sphere figure of Figures 2 and 6 is csg/sphere_figure.h, drawn by `csg hse --figure`.)
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "csg/data/label_png.h"
#include "csg/image.h"
#include "csg/infer.h"

namespace csg::figures {

// ---- Grad-CAM (src/figures/gradcam.cpp) ----------------------------------------------------
// Grad-CAM of layer4 (Selvaraju et al.) for class `cls` of a classifier built by
// infer::build_network: A = layer4's output [N,C,h,w], g = d logit_cls / d A, w_c = the spatial
// mean of g_c, CAM = ReLU(sum_c w_c A_c) -> [N,h,w] (not normalised). x is the normalised input.
struct GradCam {
  Tensor cam;     // [N,h,w], CPU F32
  Tensor logits;  // [N,classes], CPU F32
};
GradCam grad_cam(const nn::Module& net, const Tensor& x, int64_t cls);
// One CAM [h,w] upsampled bilinearly (half-pixel centres: align_corners=False) to height x
// width and min-max normalised to [0,1] (all zero when the CAM is constant).
Tensor upsample_normalised(const Tensor& cam, int64_t height, int64_t width);
// The heat map (viridis) blended over `im` (same size as cam [H,W]): (1-alpha) im + alpha heat.
image::Image overlay_heatmap(const image::Image& im, const Tensor& cam, double alpha = 0.5);

// `class_arg` as a class index of `info`: one of its class names, or a number in [0, classes).
// An Error lists the names otherwise.
int64_t resolve_class(const infer::ModelInfo& info, const std::string& class_arg);

struct GradCamOptions {
  std::string model;       // any model file (csg/infer.h) holding a classifier
  std::string arch;        // optional: must match the file's
  std::string class_name;  // name or index; empty: each image's predicted class
  std::vector<std::string> inputs;  // images, folders, .txt lists (infer::expand_inputs)
  std::string out_dir = ".";
  std::string device = "cpu";
};
// For each image: <out>/<stem>_gradcam.png (the network's view: resized + centre-cropped as
// the model file says | the CAM over it) and <out>/<stem>_cam.npy (the normalised CAM at the
// crop size). Prints one line per image to stdout. Returns the images written.
int64_t run_gradcam(const GradCamOptions& options);

// ---- segmentation panels (src/figures/segment_panels.cpp) ----------------------------------
// Side-by-side panels with a title strip: image | prediction | ground truth (when given), each
// the prediction's size, kPanelGap pixels apart under a kPanelTitleH strip:
// width = n * W + (n - 1) * kPanelGap, height = kPanelTitleH + H.
constexpr int kPanelGap = 6, kPanelTitleH = 30;
image::Image segmentation_panel(const image::Image& im, const image::LabelMap& prediction,
                                const image::LabelMap* truth, const data::Palette& palette);

struct SegmentOptions {
  std::string model, arch;          // a segmentation model file (DeepLab)
  std::vector<std::string> inputs;  // images, folders, .txt lists
  std::string labels_dir;           // ground truth: Cityscapes gtFine (labelIds) or GTA5 labels/
  std::string out_dir = ".";
  std::string device = "cpu";
};
// For each image: <out>/<stem>_panel.png and <out>/<stem>_color.png (the prediction's colours).
int64_t run_segment(const SegmentOptions& options);

}  // namespace csg::figures
