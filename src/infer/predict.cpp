// src/infer/predict.cpp — `csg predict` and `csg export` (csg format or ONNX) as library calls (csg/predict.h).
#include "csg/predict.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "csg/data/label_png.h"
#include "csg/error.h"
#include "csg/image.h"
#include "csg/infer.h"
#include "csg/io/npy.h"
#include "csg/ops.h"
#include "csg/progress.h"
#include "src/infer/threads.h"

namespace csg::infer {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tga"})
    if (ext == e) return true;
  return false;
}

std::vector<std::string> read_list(const fs::path& list) {
  std::ifstream f(list);
  CSG_CHECK(f, list.string(), ": cannot read the image list");
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(f, line)) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty() || line[0] == '#') continue;
    auto resolved = [&](const std::string& name) {
      const fs::path p(name);
      return (p.is_absolute() ? p : list.parent_path() / p).string();
    };
    // A labelled list (VisDA's image_list.txt: "aeroplane/x.jpg 0"): the path before the class
    // number, unless the whole line names a file (a path may hold spaces).
    std::error_code ec;
    const size_t gap = line.find_last_of(" \t");
    if (gap != std::string::npos && !fs::exists(resolved(line), ec) &&
        line.find_first_not_of("0123456789", gap + 1) == std::string::npos) {
      const std::string head = line.substr(0, line.find_last_not_of(" \t", gap) + 1);
      if (!head.empty()) line = head;
    }
    paths.push_back(resolved(line));
  }
  return paths;
}

void print_top(std::FILE* out, const std::string& path, const float* v, const ModelInfo& info, int top_k, bool all) {
  std::vector<int64_t> order(info.num_classes);
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min<size_t>(std::max(top_k, 1), order.size());
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  std::fprintf(out, "%s: top-%zu", path.c_str(), k);
  for (size_t i = 0; i < k; ++i)
    std::fprintf(out, " %s (%lld, %.4f)", info.class_names[order[i]].c_str(), static_cast<long long>(order[i]),
                 v[order[i]]);
  std::fprintf(out, "\n");
  if (all) {
    std::fprintf(out, "logits:");
    for (int64_t c = 0; c < info.num_classes; ++c) std::fprintf(out, " %.6g", v[c]);
    std::fprintf(out, "\n");
  }
}

// The same file, or the same path once resolved (the output may not exist yet).
bool same_file(const std::string& a, const std::string& b) {
  std::error_code e1, e2, e3;
  if (fs::equivalent(a, b, e1)) return true;
  const fs::path ca = fs::weakly_canonical(a, e2), cb = fs::weakly_canonical(b, e3);
  return !e2 && !e3 && ca == cb;
}

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> paths;
  for (const std::string& in : inputs) {
    const fs::path p(in);
    std::error_code ec;
    CSG_CHECK(fs::exists(p, ec), in, ": no such image, folder or list file");
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && is_image_name(e.path())) found.push_back(e.path().string());
      CSG_CHECK(!found.empty(), in, ": a folder without images (.png, .jpg, .jpeg, .bmp, ...)");
      std::sort(found.begin(), found.end());
      paths.insert(paths.end(), found.begin(), found.end());
    } else if (p.extension() == ".txt") {
      std::vector<std::string> listed = read_list(p);
      CSG_CHECK(!listed.empty(), in, ": an empty image list");
      paths.insert(paths.end(), listed.begin(), listed.end());
    } else {
      paths.push_back(in);
    }
  }
  return paths;
}

std::vector<std::string> output_stems(const std::vector<std::string>& paths, const std::string& out_dir,
                                      const std::string& command) {
  std::vector<std::string> stems;
  std::map<std::string, std::vector<std::string>> inputs_of;  // stem -> the different paths
  for (const std::string& p : paths) {
    stems.push_back((fs::path(out_dir) / fs::path(p).stem()).string());
    std::vector<std::string>& same = inputs_of[stems.back()];
    if (std::find(same.begin(), same.end(), p) == same.end()) same.push_back(p);
  }
  for (const auto& [stem, same] : inputs_of) {
    if (same.size() < 2) continue;
    std::string names;
    for (size_t i = 0; i < same.size(); ++i)
      names += (i == 0 ? "" : i + 1 == same.size() ? " and " : ", ") + same[i];
    CSG_FAIL(command, ": ", names, " would all write ", stem, "_*: outputs are named by the file name without its "
             "extension. Rename them, or run them into separate --out folders");
  }
  return stems;
}

PredictSummary run_predict(const PredictOptions& o, std::FILE* out) {
  CSG_CHECK(o.batch_size >= 1, "predict: --batch-size must be at least 1, got ", o.batch_size);
  CSG_CHECK(!o.inputs.empty(), "predict: give at least one image, folder or list file");
  const std::vector<std::string> paths = expand_inputs(o.inputs);
  const ThreadsScope threads(o.threads);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t_load = Clock::now();
  ModelWeights weights = read_model(o.model, o.arch);
  if (o.resize > 0) weights.info.resize = o.resize;
  if (o.crop > 0) weights.info.crop = o.crop;
  if (o.mean) weights.info.mean = *o.mean;
  if (o.std) weights.info.std = *o.std;
  weights.info.validate("predict (--resize/--crop/--mean/--std)");
  Engine engine(weights, parse_device(o.device));
  engine.set_precision(parse_precision(o.precision));
  const ModelInfo& info = engine.info();
  PredictSummary s;
  s.load_seconds = std::chrono::duration<double>(Clock::now() - t_load).count();
  const bool seg = info.task() == Task::Segmentation;
  CSG_CHECK(!seg || o.logits_out.empty(), "predict: --out ", o.logits_out, " writes the logits of a classifier; ", o.model,
            " holds a segmentation model (", info.arch, "), whose label maps go to --out-dir");
  const std::vector<std::string> stems = seg ? output_stems(paths, o.out_dir, "predict") : std::vector<std::string>();
  if (seg) fs::create_directories(o.out_dir);
  const data::Palette colours = seg ? data::train_id_palette(info.num_classes) : data::Palette();
  std::vector<Tensor> all_logits;
  ProgressBar bar("predict", static_cast<int64_t>(paths.size()), o.quiet);
  const Clock::time_point t0 = Clock::now();
  for (size_t b0 = 0; b0 < paths.size(); b0 += o.batch_size) {
    const size_t b1 = std::min(paths.size(), b0 + size_t(o.batch_size));
    std::vector<image::Image> images;
    for (size_t i = b0; i < b1; ++i) images.push_back(image::load(paths[i], o.max_image_pixels));
    const Tensor logits = engine.run(engine.preprocess(images)).to(Device::CPU).contiguous();
    if (!seg) {
      for (size_t i = b0; i < b1; ++i)
        print_top(out, paths[i], logits.data<float>() + (i - b0) * info.num_classes, info, o.top_k, o.all_logits);
      if (!o.logits_out.empty()) all_logits.push_back(logits.clone());
    } else {
      const std::vector<image::LabelMap> maps = label_maps(logits);
      for (size_t i = b0; i < b1; ++i) {
        const std::string& stem = stems[i];
        data::write_grey_png(stem + "_labels.png", maps[i - b0]);
        data::write_palette_png(stem + "_color.png", maps[i - b0], colours);
        std::fprintf(out, "%s: wrote %s_labels.png, %s_color.png\n", paths[i].c_str(), stem.c_str(), stem.c_str());
      }
    }
    bar.update(static_cast<int64_t>(b1));
  }
  s.images = static_cast<int64_t>(paths.size());
  s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  s.images_per_second = s.images / std::max(s.seconds, 1e-9);
  if (!o.logits_out.empty() && !seg) save_npy(o.logits_out, cat(all_logits, 0));
  std::fprintf(stderr, "%lld images in %.2f s (%.2f images/s; model loaded in %.2f s)\n",
               static_cast<long long>(s.images), s.seconds, s.images_per_second, s.load_seconds);
  return s;
}

std::string export_model_file(const std::string& model_path, const std::string& out_path, const std::string& arch,
                              const std::string& format) {
  const bool onnx_name = fs::path(out_path).extension() == ".onnx";
  const std::string kind = !format.empty() ? format : onnx_name ? "onnx" : "csg";
  CSG_CHECK(kind == "csg" || kind == "onnx", "export: unknown format '", kind, "': csg or onnx");
  CSG_CHECK(!(onnx_name && kind == "csg"), "export: ", out_path,
            " is named .onnx but --format csg writes a safetensors file; use --format onnx or another name");
  if (kind == "onnx" && !onnx_export_available()) export_onnx(out_path, ModelWeights());  // says what to install
  CSG_CHECK(!same_file(model_path, out_path), "export: --out ", out_path, " is the file it reads (--checkpoint ", model_path,
            "); writing there would replace it. Give the model file another name");
  const ModelWeights m = read_model(model_path, arch);
  build_network(m);  // every tensor must fit the architecture: a file that would not load is not written
  const std::string what = out_path + ": " + m.info.arch + ", " + m.info.head + " head, " +
                           std::to_string(m.info.num_classes) + " classes";
  if (kind == "onnx") {
    export_onnx(out_path, m);
    return what + ", ONNX opset " + std::to_string(kOnnxOpset) + ", batch norm folded";
  }
  export_model(out_path, m);
  return what + ", " + std::to_string(m.tensors.size()) + " tensors";
}

}  // namespace csg::infer
