// src/train/network.cpp — building f_e, f_eo, the heads and the queues; loading ImageNet weights.
#include "src/train/network.h"

#include <cstdio>

#include "csg/autograd.h"
#include "csg/cuda.h"
#include "csg/infer.h"
#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "src/infer/backbone_runner.h"
#include "src/ops/conv_precision.h"

namespace csg::train {

ProjectionHead::ProjectionHead(int64_t c, int64_t dim, Generator& gen) {
  fc1 = register_module("0", std::make_shared<nn::Linear>(c, c, true, gen));
  fc2 = register_module("2", std::make_shared<nn::Linear>(c, dim, true, gen));
}

ClassifierHead::ClassifierHead(int64_t in, int64_t classes, Generator& gen) {
  fc1 = register_module("0", std::make_shared<nn::Linear>(in, 512, true, gen));
  fc2 = register_module("2", std::make_shared<nn::Linear>(512, classes, true, gen));
}

namespace {

// --arch of the task's family: a ResNet for VisDA, DeepLab for GTA5.
int task_depth(const Config& cfg) {
  CSG_CHECK(task_of(cfg.arch) == cfg.task, "--arch ", name_of(cfg.arch), ": expected ",
            cfg.task == Task::Visda ? "resnet" : "deeplab", "<depth>");
  return depth_of(cfg.arch);
}

std::shared_ptr<models::ResNet> make_encoder(const Config& cfg, uint64_t seed) {
  if (cfg.task == Task::Visda) {
    models::ResNetOptions o;
    o.depth = task_depth(cfg);
    o.num_classes = 0;  // the ImageNet fc is not used (the reference's fc stays frozen and unused)
    o.seed = seed;
    o.width = cfg.width;
    o.stem = cfg.stem;
    return std::make_shared<models::ResNet>(o);
  }
  CSG_CHECK(cfg.stem == Stem::ImageNet, "--stem ", name_of(cfg.stem),
            ": DeepLab (the GTA5 task) is built with the imagenet stem");
  models::DeepLabOptions o;
  o.depth = task_depth(cfg);
  o.num_classes = cfg.num_classes;
  o.head = cfg.seg_head;
  o.seed = seed;
  return std::make_shared<models::DeepLab>(o);
}

// Refuses weights of another backbone than --arch/--width ask for, in the words predict and
// export use, before any tensor is compared by shape.
void check_weights_backbone(const std::vector<NamedTensor>& weights, const std::string& path, const Config& cfg,
                            int64_t width) {
  const infer::BackboneShape b = infer::backbone_shape(weights, path);
  const std::string held = "resnet" + std::to_string(b.depth);
  const std::string family = cfg.task == Task::Visda ? "resnet" : "deeplab";
  const int want = task_depth(cfg);
  CSG_CHECK(b.depth == want, path, " holds a ", held, " but ", name_of(cfg.arch), " was asked for; give --arch ", family,
            b.depth, ", or weights of a resnet", want);
  CSG_CHECK(b.width == width, path, " holds a ", held, " of width ", b.width, " but width ", width,
            " was asked for; give --width ", b.width, ", or weights of that width");
}

// The tensors of a --weights file, as `csg predict` reads model files: a state dict (.pth, or
// .safetensors such as the digits priors) as it is; csg's own files (a training checkpoint, a
// `csg export` file) through infer::read_model, which puts f_e under torchvision's names.
std::vector<NamedTensor> read_weights_file(const std::string& path) {
  if (!is_safetensors_file(path)) return load_pth(path);
  if (load_safetensors_metadata(path).count("format")) return infer::read_model(path).tensors;
  return load_safetensors(path);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Prior (ImageNet) weights into a backbone: every backbone tensor must be found, BN's
// num_batches_tracked excepted (nothing reads it; exports leave it out); the file's classifier
// (torchvision's fc, CSG's head) and a segmentation head absent from ImageNet weights are left out.
void load_imagenet(models::ResNet& net, const std::vector<NamedTensor>& weights, const std::string& path) {
  std::vector<NamedTensor> backbone;
  for (const NamedTensor& t : weights)
    if (t.name.rfind("fc.", 0) != 0 && t.name.rfind("head.", 0) != 0) backbone.push_back(t);
  nn::Module::LoadReport rep;
  try {
    rep = net.load_state_dict(backbone, /*strict=*/false, path);
  } catch (const Error& e) {  // a shape that differs: another stem (conv1's kernel); the width is checked before
    CSG_FAIL(e.what(), "; were the weights trained with the same --width and --stem?");
  }
  size_t missing_backbone = 0;
  std::string first;
  for (const std::string& m : rep.missing)
    if (m.rfind("fc_new.", 0) != 0 && !ends_with(m, ".num_batches_tracked") && missing_backbone++ == 0) first = m;
  CSG_CHECK(missing_backbone == 0, path, ": ", missing_backbone, " backbone tensors missing (first: ", first,
            "); is this a torchvision ResNet checkpoint of the same depth?");
  if (!rep.unexpected.empty())
    std::fprintf(stderr, "note: %zu tensors of %s not used (first: %s)\n", rep.unexpected.size(), path.c_str(),
                 rep.unexpected[0].c_str());
}

}  // namespace

CsgNetwork::CsgNetwork(const Config& cfg, const ConvNumerics& numerics) {
  encoder_q = register_module("encoder_q", make_encoder(cfg, cfg.seed));
  encoder_k = register_module("encoder_k", make_encoder(cfg, cfg.seed));
  deeplab_q_ = std::dynamic_pointer_cast<models::DeepLab>(encoder_q);
  Tensor imagenet_fc_weight, imagenet_fc_bias;  // the weights file's classifier, for asg-kl below
  if (!cfg.weights.empty()) {
    const std::string& p = cfg.weights;
    std::vector<NamedTensor> w = read_weights_file(p);
    check_weights_backbone(w, p, cfg, encoder_q->conv1->weight.size(0));
    load_imagenet(*encoder_q, w, cfg.weights);
    load_imagenet(*encoder_k, w, cfg.weights);
    for (const NamedTensor& t : w) {
      if (t.name == "fc.weight") imagenet_fc_weight = t.tensor;
      if (t.name == "fc.bias") imagenet_fc_bias = t.tensor;
    }
  } else {
    encoder_k->load_state_dict(encoder_q->state_dict());  // f_eo starts equal to f_e
  }
  encoder_k->freeze();  // f_eo: no gradient, never optimised
  // --factor 0: the backbone's learning rate is 0, and the reference's SGD leaves a parameter with
  // learning rate 0 as it is (weight decay included), so f_e's backbone is frozen outright and no
  // gradient is computed for it: a frozen prior with a new head (the paper's "Oracle on ImageNet").
  if (cfg.factor == 0)
    for (NamedTensor& p : encoder_q->named_parameters())
      if (p.name.rfind("fc_new.", 0) != 0) p.tensor.requires_grad_(false);
  regularizer_ = cfg.regularizer;
  si_damping_ = cfg.si_damping;
  if (cfg.regularizer == Regularizer::AsgKl) {
    // ASG's KL term needs the ImageNet classifier that load_imagenet leaves out.
    const int64_t c = encoder_q->feature_channels();
    Generator fc_gen(cfg.seed + 23);
    if (cfg.weights.empty()) {  // random init: a random classifier, the same for f_e and f_eo
      imagenet_fc = std::make_shared<nn::Linear>(c, 1000, true, fc_gen);
    } else {  // the file read above, not a second read of it
      const std::string& p = cfg.weights;
      const Tensor& weight = imagenet_fc_weight;
      const Tensor& bias = imagenet_fc_bias;
      CSG_CHECK(weight.defined() && bias.defined(), p,
                ": --regularizer asg-kl needs the classifier of the weights (fc.weight and fc.bias), not found");
      CSG_CHECK(weight.dim() == 2 && weight.size(1) == c && bias.dim() == 1 && bias.size(0) == weight.size(0), p,
                ": fc.weight ", weight.describe(), " / fc.bias ", bias.describe(), " do not fit ", c,
                " layer4 channels");
      imagenet_fc = std::make_shared<nn::Linear>(c, weight.size(0), true, fc_gen);
      imagenet_fc->load_state_dict({{"weight", weight}, {"bias", bias}});
    }
    imagenet_fc->freeze();
  }
  Generator gen(cfg.seed + 17);
  if (!segmentation())
    fc_new = register_module("fc_new", std::make_shared<ClassifierHead>(encoder_q->feature_channels(), cfg.num_classes, gen));
  else
    deeplab_q_->freeze_batch_norm();  // reference: backbone BN affine frozen for segmentation
  // How every convolution computes; set before the CSG heads, which are linear.
  nn::set_conv_numerics(*this, numerics);
  if (deeplab_q_) deeplab_q_->set_deterministic_upsampling(numerics.deterministic);  // the one with a backward
  if (!cfg.csg) return;
  auto heads = register_module("heads_q", std::make_shared<nn::ModuleDict>());
  auto keys = register_module("heads_k", std::make_shared<nn::ModuleDict>());
  for (int l : cfg.layers) {
    CSG_CHECK(l >= 1 && l <= 4, "--layers: ", l, " is not a ResNet stage 1..4");
    const int64_t c = encoder_q->stage_channels(l);
    heads_q[l] = heads->add("layer" + std::to_string(l), std::make_shared<ProjectionHead>(c, cfg.embed_dim, gen));
    heads_k[l] = keys->add("layer" + std::to_string(l), std::make_shared<ProjectionHead>(c, cfg.embed_dim, gen));
    heads_k[l]->load_state_dict(heads_q[l]->state_dict());  // h~ starts as a copy of h
    heads_k[l]->freeze();                                   // and only follows it by EMA
    if (segmentation() && !cfg.train_seg_heads) heads_q[l]->freeze();
    queues[l] = std::make_unique<method::NegativeQueue>(cfg.embed_dim, cfg.queue_size, cfg.seed + 100 + l);
  }
}

ConvNumerics conv_numerics(const Config& cfg, Device dev, bool training) {
  ConvNumerics n;
  n.precision = training ? cfg.precision : ConvPrecision::F32;
  n.deterministic = cfg.deterministic;
  n.tf32 = cfg.tf32;
  std::string why;
  CSG_CHECK(!n.bf16() || has_bf16_convolutions(dev, &why), "--precision bf16",
            dev == Device::CUDA ? " on CUDA: " : ": ", why);
  return n;
}

void apply_backend_settings(const Config& cfg) {
  if (!cfg.tf32) cuda::set_matmul_tf32(false);
}

Tensor CsgNetwork::task_logits(const Tensor& x, models::ResNetFeatures* features) const {
  *features = encoder_q->forward_features(x);
  if (!segmentation()) return fc_new->forward(global_avg_pool(features->layer[3]));
  Tensor low = deeplab_q_->head_forward(features->layer[3]);
  return upsample_bilinear2d(low, x.size(2), x.size(3), /*align_corners=*/true, deeplab_q_->deterministic_upsampling());
}

CsgNetwork::~CsgNetwork() = default;

models::ResNetFeatures CsgNetwork::features_without_grad(const models::ResNet& encoder, const Tensor& x,
                                                         const std::array<bool, 4>& wanted) {
  NoGradGuard no_grad;
  if (!infer::BackboneRunner::applies(encoder, x) || !infer::BackboneRunner::pays(encoder, x))
    return encoder.forward_features(x);
  std::unique_ptr<infer::BackboneRunner>& runner = backbone_runners_[&encoder];
  if (!runner) runner = std::make_unique<infer::BackboneRunner>();
  return runner->features(encoder, x, wanted);
}

CsgNetwork::Groups CsgNetwork::parameter_groups() const {
  Groups g;
  for (const NamedTensor& p : encoder_q->named_parameters()) {
    if (!p.tensor.requires_grad()) continue;
    (p.name.rfind("fc_new.", 0) == 0 ? g.task_head : g.backbone).push_back(p.tensor);
  }
  if (fc_new)
    for (const Tensor& p : fc_new->parameters()) g.task_head.push_back(p);
  for (const auto& [l, h] : heads_q)
    for (const Tensor& p : h->parameters()) g.projection.push_back(p);
  return g;
}

void CsgNetwork::set_training_modes() {
  train(false);  // every BN on running (ImageNet) statistics, as the reference's model.eval()
  if (segmentation()) deeplab_q_->head().train(true);  // the new head: batch statistics, dropout
}

void CsgNetwork::set_eval_modes() { train(false); }

void CsgNetwork::to_device(Device dev) {
  to(dev);
  for (auto& [l, q] : queues) q->to(dev);
  if (imagenet_fc) imagenet_fc->to(dev);
  // The pairs (w, w0) of the weight regularizers, by name, once the tensors are on `dev`.
  regularized.clear();
  reference.clear();
  if (regularizer_ != Regularizer::WeightL2 && regularizer_ != Regularizer::SynapticIntelligence) return;
  std::map<std::string, Tensor> imagenet;
  for (const NamedTensor& p : encoder_k->named_parameters()) imagenet[p.name] = p.tensor;
  for (const NamedTensor& p : encoder_q->named_parameters()) {
    if (!p.tensor.requires_grad() || p.name.rfind("fc_new.", 0) == 0) continue;  // frozen, or the new head
    auto it = imagenet.find(p.name);
    CSG_CHECK(it != imagenet.end(), "f_eo has no parameter ", p.name);
    regularized.push_back(p.tensor);
    reference.push_back(it->second);
  }
  if (regularizer_ == Regularizer::SynapticIntelligence)
    si = std::make_unique<method::SynapticIntelligence>(regularized, reference, si_damping_);
}

}  // namespace csg::train
