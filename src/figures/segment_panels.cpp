// src/figures/segment_panels.cpp — `csg segment`: a segmentation model's predictions in
// Cityscapes colours beside the image and the ground truth.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "csg/data/labels.h"
#include "csg/error.h"
#include "csg/figures.h"
#include "csg/plot.h"
#include "csg/predict.h"

namespace csg::figures {

namespace fs = std::filesystem;

namespace {

// Nearest-neighbour resize: label ids must not be blended.
image::LabelMap resize_nearest(const image::LabelMap& in, int width, int height) {
  if (in.width == width && in.height == height) return in;
  image::LabelMap out;
  out.width = width;
  out.height = height;
  out.values.resize(static_cast<size_t>(width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      out.at(x, y) = in.at(static_cast<int>((x + 0.5) * in.width / width), static_cast<int>((y + 0.5) * in.height / height));
  return out;
}

// The ground-truth files under a folder (searched recursively), by file name.
class TruthIndex {
 public:
  explicit TruthIndex(const std::string& dir) : dir_(dir) {
    std::error_code ec;
    CSG_CHECK(fs::is_directory(dir, ec), dir, ": --labels is not a folder (give Cityscapes' gtFine/ or GTA5's labels/)");
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) files_.emplace(e.path().filename().string(), e.path().string());
  }
  // Cityscapes: <name>_leftImg8bit.png -> <name>_gtFine_labelIds.png; GTA5: the same file name.
  // Both hold Cityscapes label ids.
  std::string find(const std::string& image_path) const {
    const fs::path p(image_path);
    std::string stem = p.stem().string();
    const std::string suffix = "_leftImg8bit";
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0)
      stem.resize(stem.size() - suffix.size());
    const std::vector<std::string> names = {stem + "_gtFine_labelIds.png", p.filename().string(), stem + ".png"};
    for (const std::string& n : names)
      if (auto it = files_.find(n); it != files_.end()) return it->second;
    CSG_FAIL(image_path, ": no ground truth under ", dir_, " (looked for ", names[0], " or ", names[1],
             "); leave out --labels to draw the prediction alone");
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> files_;
};

void paste(plot::Canvas& c, const image::Image& im, int x0, int y0) {
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const uint8_t* p = im.at(x, y);
      c.set(x0 + x, y0 + y, {p[0], p[1], p[2]});
    }
}

}  // namespace

image::Image segmentation_panel(const image::Image& im, const image::LabelMap& prediction,
                                const image::LabelMap* truth, const data::Palette& palette) {
  const int w = prediction.width, h = prediction.height;
  CSG_CHECK(im.width == w && im.height == h, "segmentation_panel: image ", im.width, "x", im.height,
            " and prediction ", w, "x", h, " differ");
  CSG_CHECK(!truth || (truth->width == w && truth->height == h), "segmentation_panel: ground truth ",
            truth->width, "x", truth->height, " and prediction ", w, "x", h, " differ");
  const int n = truth ? 3 : 2;
  plot::Canvas c(n * w + (n - 1) * kPanelGap, kPanelTitleH + h);
  const char* titles[] = {"image", "prediction", "ground truth"};
  plot::TextStyle st;
  st.halign = plot::HAlign::Center;
  st.valign = plot::VAlign::Middle;
  st.scale = std::min(2.0, 0.9 * w / plot::text_width(titles[2], 1.0));  // narrow images: smaller titles
  for (int k = 0; k < n; ++k) {
    const int x0 = k * (w + kPanelGap);
    paste(c, k == 0 ? im : data::colorize(k == 1 ? prediction : *truth, palette), x0, kPanelTitleH);
    plot::draw_text(c, x0 + w / 2.0, kPanelTitleH / 2.0, titles[k], st);
  }
  return c.image();
}

int64_t run_segment(const SegmentOptions& o) {
  const std::vector<std::string> paths = infer::expand_inputs(o.inputs);
  const std::vector<std::string> stems = infer::output_stems(paths, o.out_dir, "segment");
  const infer::ModelWeights weights = infer::read_model(o.model, o.arch);
  CSG_CHECK(weights.info.task() == infer::Task::Segmentation, o.model, ": a ", weights.info.arch,
            " classifier; `csg segment` needs a segmentation model (a GTA5 checkpoint or a DeepLab state dict); "
            "`csg gradcam` draws classifiers");
  infer::Engine engine(weights, parse_device(o.device));
  const data::Palette palette = data::train_id_palette(engine.info().num_classes);
  const std::unique_ptr<TruthIndex> truths = o.labels_dir.empty() ? nullptr : std::make_unique<TruthIndex>(o.labels_dir);
  fs::create_directories(o.out_dir);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    const image::Image im = image::load(path);
    const image::LabelMap pred = infer::label_maps(engine.run(engine.preprocess({im})).to(Device::CPU))[0];
    // The panels are at the network's resolution (the model file may resize its input).
    const image::Image view = im.width == pred.width && im.height == pred.height
                                  ? im
                                  : image::resize_bilinear(im, pred.width, pred.height);
    image::LabelMap truth;
    bool has_truth = false;
    if (truths) {
      const std::string file = truths->find(path);
      truth = data::read_label_png(file);
      // A label map of another size belongs to another image: drawn without it, as training skips it.
      has_truth = truth.width == im.width && truth.height == im.height;
      if (!has_truth)
        std::fprintf(stderr, "csg: warning: %s is %dx%d but %s is %dx%d: not its ground truth; drawn without it\n",
                     file.c_str(), truth.width, truth.height, path.c_str(), im.width, im.height);
      data::apply_label_table(truth, data::cityscapes_id_to_train_id());
      truth = resize_nearest(truth, pred.width, pred.height);  // the network's resolution, as the panels
    }
    const std::string& stem = stems[i];
    image::save_png(stem + "_panel.png", segmentation_panel(view, pred, has_truth ? &truth : nullptr, palette));
    data::write_palette_png(stem + "_color.png", pred, palette);  // as `csg predict` writes it
    std::printf("%s: wrote %s_panel.png, %s_color.png\n", path.c_str(), stem.c_str(), stem.c_str());
  }
  return static_cast<int64_t>(paths.size());
}

}  // namespace csg::figures
