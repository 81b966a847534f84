// csg/predict.h — what `csg predict` and `csg export` do, as library calls (the command line only
// parses flags into these structs).
//
//   csg predict --model M [--arch A] [--threads N] [--batch-size B] [--device cpu|cuda]
//               [--top K] [--all] [--out logits.npy] [--out-dir DIR] [--quiet]
//               [--resize R] [--crop C] [--mean m,m,m] [--std s,s,s] INPUT...
//   csg export  --checkpoint C.ckpt --out model.safetensors [--arch A] [--format csg|onnx]
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "csg/image.h"

namespace csg::infer {

struct PredictOptions {
  std::string model;  // any model file (csg/infer.h): exported, `csg train` checkpoint, .pth, .safetensors
  std::string arch;   // optional: must match the file's
  // Image files, folders (their images, sorted by name, not recursive) and list files (.txt:
  // one image path per line, relative to the list's folder; blank lines and #comments skipped; a
  // class number after the path, as in VisDA's image_list.txt, is left out).
  std::vector<std::string> inputs;
  int threads = 0;     // OpenMP/OpenBLAS threads; 0: the default (OMP_NUM_THREADS or every core)
  int batch_size = 1;  // images per run (segmentation: images of one batch must share a size)
  std::string device = "cpu";
  std::string precision = "f32";  // or "bf16" (csg/infer.h Precision): CPU with AVX512_BF16 or AMX
  int top_k = 5;             // classification: classes printed per image
  bool all_logits = false;   // classification: also print every logit
  std::string logits_out;    // classification: all logits as one .npy [N, classes]
  // Segmentation: <out_dir>/<image stem>_labels.png (class ids, greyscale) and
  // <image stem>_color.png (Cityscapes colours for 19 classes, a fixed palette otherwise).
  std::string out_dir = ".";
  bool quiet = false;  // no progress bar
  // Preprocessing overrides (0 / unset: the model file's): classification resize and crop,
  // mean and std per channel.
  int resize = 0, crop = 0;
  std::optional<std::array<float, 3>> mean, std;
  // An image with more pixels is refused from its header (csg/image.h), naming its size.
  int64_t max_image_pixels = image::kDefaultMaxPixels;
};

struct PredictSummary {
  int64_t images = 0;
  double seconds = 0;           // loading excluded: decoding, preprocessing, the network, writing
  double images_per_second = 0;
  double load_seconds = 0;      // reading the file and compiling the network
};

// The image paths `inputs` name, in order (folders expanded, list files read). Errors name the
// input that is missing, empty or unreadable.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

// "<out_dir>/<file stem>" for each path, in order: the prefix of the files a command writes per
// image. Different images with one file stem (a/x.jpg, a/x.png, b/x.jpg) would overwrite each
// other's outputs: refused before anything is written, naming them (`command` starts the message).
std::vector<std::string> output_stems(const std::vector<std::string>& paths, const std::string& out_dir,
                                      const std::string& command);

// Loads the model once, runs every image in batches, prints one line per image to `out`
// ("path: top-5 c (logit) ..." or "path: wrote DIR/stem_labels.png, DIR/stem_color.png"), a
// progress bar on stderr, and "N images in S s (R images/s)" at the end.
PredictSummary run_predict(const PredictOptions& options, std::FILE* out = stdout);

// `csg export`: the inference network of `model_path` (a `csg train` checkpoint or any model
// file) written to `out_path` as a csg-model file (format "csg") or an ONNX model ("onnx",
// docs/onnx.md); an empty format means "onnx" when out_path ends in .onnx, else "csg". Either is
// written only once its tensors are known to fit the architecture (a weight of the wrong shape or
// a missing one is an error naming the file, and nothing is written). Returns a one-line
// description of the file written.
std::string export_model_file(const std::string& model_path, const std::string& out_path,
                              const std::string& arch = "", const std::string& format = "");

}  // namespace csg::infer
