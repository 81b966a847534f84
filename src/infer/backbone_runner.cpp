// src/infer/backbone_runner.cpp — see backbone_runner.h.
#include "src/infer/backbone_runner.h"

#include "csg/autograd.h"
#include "csg/error.h"
#include "src/ops/onednn/context.h"

namespace csg::infer {

namespace {

bool eval_mode_backbone(const models::ResNet& resnet) {
  if (resnet.bn1->is_training()) return false;
  for (const auto& layer : resnet.layers) {
    if (layer->is_training()) return false;
    for (const auto& block : layer->items())
      if (block->is_training()) return false;
  }
  return true;
}

bool backbone_tensor(const std::string& name) {
  for (const char* prefix : {"conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4."})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

bool BackboneRunner::applies(const models::ResNet& resnet, const Tensor& x) {
  return !grad_mode_enabled() && x.defined() && x.device() == Device::CPU && x.dtype() == DType::F32 &&
         onednn::active() && (!resnet.conv1->opt.numerics.bf16() || onednn::has_bf16(nullptr)) &&
         resnet.conv1->weight.device() == Device::CPU && eval_mode_backbone(resnet);
}

BackboneRunner::Scan BackboneRunner::scan(const models::ResNet& resnet) {
  Scan scan;
  for (const NamedTensor& p : resnet.named_parameters()) {
    if (!backbone_tensor(p.name) || !p.tensor.defined()) continue;
    scan.signature.emplace_back(p.tensor.storage().id(), p.tensor.storage().version());
    scan.trained = scan.trained || p.tensor.requires_grad();
    scan.parameters += p.tensor.numel();
  }
  for (const NamedTensor& b : resnet.named_buffers())
    if (backbone_tensor(b.name) && b.tensor.defined())
      scan.signature.emplace_back(b.tensor.storage().id(), b.tensor.storage().version());
  return scan;
}

bool BackboneRunner::pays(const models::ResNet& resnet, const Tensor& x) {
  const Scan backbone = scan(resnet);
  if (!backbone.trained) return true;
  // The stage outputs' sizes from the description: the stem's and each stage's stride.
  const models::ResNetArchitecture& a = resnet.architecture();
  int64_t stride = a.stem.stride * (a.stem.max_pool ? a.stem.pool_stride : 1), activations = 0;
  for (int s = 0; s < 4; ++s) {
    stride *= a.stages[s].stride;
    activations += x.size(0) * a.stage_channels(s + 1) * ((x.size(2) + stride - 1) / stride) *
                   ((x.size(3) + stride - 1) / stride);
  }
  return activations * 10 >= backbone.parameters;
}

models::ResNetFeatures BackboneRunner::features(const models::ResNet& resnet, const Tensor& x,
                                                const std::array<bool, 4>& wanted) {
  CSG_CHECK(applies(resnet, x), "BackboneRunner: this backbone or input does not run here (see applies)");
  CSG_CHECK(x.dim() == 4 && x.size(1) == 3, "ResNet: input must be [N,3,H,W], got ", x.describe());
  Scan now = scan(resnet);
  // Trained weights (f_e) change before every call, and oneDNN's reorder into Winograd's layout costs
  // more than its kernel saves (docs/onnx.md): such a backbone runs Winograd as training does. The
  // choice follows the module, not the history of calls, so a resumed run computes as an
  // uninterrupted one.
  runner_.set_weights(now.trained ? OneDnnRunner::Weights::EveryRun : OneDnnRunner::Weights::Fixed);
  if (source_ != &resnet) {
    net_ = compile_backbone(resnet, /*check_range=*/false);  // training: a diverged run shows in its loss
    runner_.clear();
    source_ = &resnet;
    ++folds_;
  } else if (now.signature != signature_) {
    refold_backbone(resnet, net_, /*check_range=*/false);
    runner_.weights_changed();
    ++folds_;
  }
  signature_ = std::move(now.signature);
  pool_.begin(x.shape());
  const bool bf16 = resnet.conv1->opt.numerics.bf16();  // the network computes in BF16: so do its passes here
  const std::array<Tensor, 4> stages = runner_.run_stages(net_, x.contiguous(), pool_, wanted, bf16);
  models::ResNetFeatures f;
  for (int s = 0; s < 4; ++s) f.layer[s] = stages[s];
  return f;
}

}  // namespace csg::infer
