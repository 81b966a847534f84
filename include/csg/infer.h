// csg/infer.h — deployment: model files, export, and an inference engine that is built once
// and run many times.
//
// A model file is any of
//   * a file written by export_model(): safetensors, metadata "format" = "csg-model" and
//     "model" = the ModelInfo as JSON (arch, width, classes and their names, input size,
//     mean/std, head layout);
//   * a checkpoint written by `csg train` (tensors "net.*", metadata "format" = "csg-checkpoint"):
//     f_e and its task head are taken, the CSG heads, queues and momentum are left out;
//   * a state dict (torchvision `.pth`, zip or legacy, or `.safetensors`) of a torchvision ResNet
//     or of csg's DeepLab (its "fc_new.*" head); depth, width, head and classes are read from
//     the tensor names and shapes.
// read_model() turns each into ModelWeights: the ModelInfo plus the tensors under canonical
// names (torchvision's backbone names; "fc.*" for a torchvision classifier, "head.0/2.*" for
// CSG's VisDA classifier, "fc_new.*" for the DeepLab head).
//
// Engine holds the inference network compiled from them: batch norm folded into the
// preceding convolution (w * gamma / sqrt(var + eps), bias (b - mean) * gamma / sqrt(var + eps)
// + beta), ReLU and the residual add applied in the convolution's output pass, no autograd
// tape, and on the CPU every activation in buffers reused from one run to the next (after the
// first batch of a given shape, a run allocates no tensor storage).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "csg/image.h"
#include "csg/io/named_tensor.h"
#include "csg/nn.h"

namespace csg::infer {

enum class Task { Classification, Segmentation };

struct ModelInfo {
  std::string arch;           // resnet18/34/50/101 (classification) or deeplab18/34/50/101 (segmentation)
  int64_t width = 64;         // planes of layer1 (torchvision: 64)
  // The layers before layer1 (csg/models/resnet.h Stem): "imagenet", "small" or "cifar". A plain
  // state dict says only conv1's kernel: 7x7 is imagenet; a 3x3 one (small or cifar) needs a csg
  // checkpoint or export, whose metadata names it.
  std::string stem = "imagenet";
  int64_t num_classes = 0;
  // Task head: "fc" (torchvision's Linear), "mlp" (CSG's VisDA head: Linear 512, ReLU, Linear),
  // "aspp-csg" or "aspp-v2" (csg/models/deeplab.h).
  std::string head;
  std::vector<std::string> class_names;  // num_classes names ("0", "1", ... when unknown)
  // Classification preprocessing: shorter side resized to `resize`, centre crop `crop` x `crop`.
  int resize = 256, crop = 224;
  // Segmentation: images are resized to input_width x input_height (0 x 0: kept at their size).
  int input_width = 0, input_height = 0;
  std::array<float, 3> mean = image::kImageNetMean, std = image::kImageNetStd;

  Task task() const { return arch.rfind("deeplab", 0) == 0 ? Task::Segmentation : Task::Classification; }
  int depth() const;  // 18, 34, 50 or 101, from arch
  // Errors name `where` and the field that is out of range (unknown arch or head, no classes,
  // a class-name count that differs from num_classes, non-positive sizes or std).
  void validate(const std::string& where) const;
};

// Class names when a file gives none: VisDA-17's 12 (classification, 12 classes), Cityscapes'
// 19 (segmentation, 19 classes), else "0", "1", ...
std::vector<std::string> default_class_names(Task task, int64_t num_classes);

std::string model_info_to_json(const ModelInfo& info);
ModelInfo model_info_from_json(const std::string& json, const std::string& where);

struct ModelWeights {
  ModelInfo info;
  std::vector<NamedTensor> tensors;  // canonical names, CPU, F32
  std::string source;                // the file they were read from (named by build_network's errors)
};

// The ResNet backbone a state dict holds (torchvision names): depth 18/34/50/101 from its
// blocks, width from conv1.weight. Errors name `where` (not a ResNet, unknown depth).
struct BackboneShape {
  int depth = 0;
  int64_t width = 0;
};
BackboneShape backbone_shape(const std::vector<NamedTensor>& tensors, const std::string& where);

// Reads any model file listed above. `arch` (may be empty) must match the file's when given;
// a plain state dict needs no arch. Errors name the file and what is wrong or missing.
ModelWeights read_model(const std::string& path, const std::string& arch = "");
// The inference network of a `csg train` checkpoint (f_e + task head) with its ModelInfo.
ModelWeights read_training_checkpoint(const std::string& path);
// Writes `m` as a csg-model safetensors file (atomic write), readable by read_model().
void export_model(const std::string& path, const ModelWeights& m);

// ONNX export (docs/onnx.md): the compiled inference network of `m` (batch norm folded into the
// convolutions) as an ONNX model, opset kOnnxOpset, input "input" [batch,3,H,W] with a dynamic
// batch axis (and dynamic H, W for a segmentation model without a fixed input size), output
// "logits"; the preprocessing (mean, std, resize/crop or input size, layout) and the class names
// are in its metadata_props. Checked with libonnx's checker before the atomic write. Needs a build
// with libonnx-dev and libprotobuf-dev (`make` prints `ONNX export ✓`); otherwise an error says so.
constexpr int kOnnxOpset = 13;
bool onnx_export_available();
void export_onnx(const std::string& path, const ModelWeights& m);

// The training-time network for `m.info` with `m.tensors` loaded (strict), in eval mode: a
// torchvision ResNet, a ResNet with CSG's "head", or a DeepLab. forward_network() runs it
// (logits [N,classes] or [N,classes,H,W]); the reference every Engine is tested against.
std::shared_ptr<nn::Module> build_network(const ModelWeights& m);
Tensor forward_network(const nn::Module& net, const ModelInfo& info, const Tensor& x);

// Arithmetic of the CPU convolutions. BF16: each convolution reads its input, weights and
// residual rounded to BF16 and writes BF16 (accumulating in f32), on AVX512_BF16 / AMX kernels
// through oneDNN; pooling, the classifier and the logits stay f32. Logits then differ from f32
// by about 1e-2 relative.
enum class Precision { F32, BF16 };
// "f32" (or "fp32") / "bf16"; an error lists the names.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);

class Engine {
 public:
  // Compiles the network of `m` for `device` (the folded weights are moved there).
  explicit Engine(const ModelWeights& m, Device device = Device::CPU);
  // Compiles an already built network (build_network's result, with info describing it).
  Engine(const nn::Module& net, const ModelInfo& info, Device device = Device::CPU);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelInfo& info() const;
  Device device() const;
  void to(Device device);
  // BF16 needs the CPU device, a build with oneDNN and a CPU with AVX512_BF16 or AMX: an error
  // says which is missing.
  void set_precision(Precision p);
  Precision precision() const;

  // x [N,3,H,W] normalised -> logits [N,classes] (classification) or [N,classes,H,W]
  // (segmentation, at the input size). On the CPU the result lives in the engine's buffers:
  // it stays valid until the next run (clone() it to keep it).
  Tensor run(const Tensor& x);

  // The network input for `images`, preprocessed as info() says: [N,3,crop,crop]
  // (classification) or [N,3,H,W] (segmentation; every image must come out the same size).
  // Written into an engine buffer, like run()'s result.
  Tensor preprocess(const std::vector<image::Image>& images);
  // The network input size for an image of width x height: {width, height}.
  std::array<int, 2> input_size(int width, int height) const;

  // Tensor storages the engine has allocated for activations and inputs so far.
  uint64_t buffer_allocations() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Per-pixel class ids of segmentation logits [N,C,H,W] -> N maps of H x W (argmax, first max).
std::vector<image::LabelMap> label_maps(const Tensor& logits);
// Class ids of classification logits [N,C] (argmax, first max).
std::vector<int64_t> class_ids(const Tensor& logits);

}  // namespace csg::infer
