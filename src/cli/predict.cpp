// src/cli/predict.cpp — `csg predict` and `csg export`: flags into csg::infer's calls
// (csg/predict.h), which load any model file once and run it over images in batches.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/predict.h"
#include "src/cli/app.h"
#include "src/cli/flags.h"

namespace csg::cli {

namespace {
struct PredictFlags {
  infer::PredictOptions opt;
  std::string mean, std;
};
}  // namespace

void add_predict_command(CLI::App& root, Invocation& inv) {
  auto f = std::make_shared<PredictFlags>();
  infer::PredictOptions& o = f->opt;
  CLI::App* c = root.add_subcommand(
      "predict",
      "classify images, or segment them (DeepLab models), with any model file: an exported model, a csg train "
      "checkpoint, or a torchvision / DeepLab state dict");
  c->add_option("--model,--weights", o.model,
                "the model: csg export's .safetensors, a csg train checkpoint, a .pth or .safetensors state dict")
      ->required();
  c->add_option("--arch", o.arch, "refuse the file unless it holds this architecture (resnet50, deeplab101, ...)");
  c->add_option("--threads", o.threads, "CPU threads (0: OMP_NUM_THREADS, else every core)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--batch-size", o.batch_size, "images per run (a segmentation batch needs images of one size)")
      ->check(CLI::PositiveNumber);
  add_device_option(c, o.device);
  c->add_option("--precision", o.precision,
                "convolution arithmetic: f32, or bf16 (BF16 in, f32 accumulation; CPU with AVX512_BF16 or AMX)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  c->add_option("--top", o.top_k, "classification: classes printed per image")->check(CLI::PositiveNumber);
  c->add_flag("--all", o.all_logits, "classification: also print every logit");
  c->add_option("--out", o.logits_out, "classification: write all logits [N, classes] as .npy");
  c->add_option("--out-dir", o.out_dir, "segmentation: writes <stem>_labels.png (class ids) and <stem>_color.png");
  c->add_option("--resize", o.resize, "resize the shorter side to this (0: the model file's; PIL's antialiased bilinear)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--crop", o.crop, "centre crop (0: the model file's)")->check(CLI::NonNegativeNumber);
  c->add_option("--mean", f->mean, "normalisation mean R,G,B (default: the model file's, ImageNet's for .pth)");
  c->add_option("--std", f->std, "normalisation std R,G,B (default: the model file's, ImageNet's for .pth)");
  add_max_image_pixels_flag(c, o.max_image_pixels);
  c->add_flag("--quiet", o.quiet, "no progress bar");
  c->add_option("inputs", o.inputs,
                "image files, folders (their images, sorted) or .txt lists (one path per line)")
      ->required();
  c->callback([f, &inv] {
    inv.action = [f] {
      infer::PredictOptions o = f->opt;
      if (!f->mean.empty()) o.mean = parse_triple("--mean", f->mean);
      if (!f->std.empty()) o.std = parse_triple("--std", f->std);
      o.device = resolve_device_flag(o.device);
      infer::run_predict(o);
      return 0;
    };
  });
}

void add_export_command(CLI::App& root, Invocation& inv) {
  struct ExportFlags {
    std::string checkpoint, out, arch, format;
  };
  auto f = std::make_shared<ExportFlags>();
  CLI::App* c = root.add_subcommand(
      "export",
      "write the inference network (f_e + task head) of a run as one file: csg's .safetensors (BN folded at load) "
      "or an ONNX model (BN folded; docs/onnx.md)");
  c->add_option("--checkpoint", f->checkpoint, "a csg train checkpoint, or any model file (.pth, .safetensors)")
      ->required();
  c->add_option("--out", f->out, "the model file to write (atomic)")->required();
  c->add_option("--arch", f->arch, "refuse the file unless it holds this architecture");
  c->add_option("--format", f->format,
                "csg (.safetensors for csg predict and the C API) or onnx (ONNX Runtime, TensorRT, OpenVINO; "
                "opset 13); default: onnx when --out ends in .onnx, else csg")
      ->check(CLI::IsMember({"csg", "onnx"}));
  c->callback([f, &inv] {
    inv.action = [f] {
      std::printf("%s\n", infer::export_model_file(f->checkpoint, f->out, f->arch, f->format).c_str());
      return 0;
    };
  });
}

}  // namespace csg::cli
