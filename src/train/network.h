// src/train/network.h — the modules CSG trains, in one place (paper Figure 3):
//   encoder_q  f_e   the network being trained (ResNet for VisDA, DeepLab for GTA5)
//   encoder_k  f_eo  the frozen ImageNet copy
//   fc_new           the classification head (VisDA; DeepLab carries its own head)
//   heads_q[l]  h    projection heads on layer l's pooled features, trained
//   heads_k[l]  h~   their exponential moving average, applied to f_eo's features
//   queues[l]        past keys of layer l, the negatives
#pragma once
#include <array>
#include <map>
#include <memory>

#include "csg/method.h"
#include "csg/method/regularizers.h"
#include "csg/models/deeplab.h"
#include "csg/models/resnet.h"
#include "csg/nn.h"
#include "csg/train.h"

namespace csg::infer {
class BackboneRunner;
}

namespace csg::train {

// FC-ReLU-FC, C -> C -> dim (MoCo v2's head), named "0" and "2" as nn.Sequential would.
class ProjectionHead : public nn::Module {
 public:
  ProjectionHead(int64_t channels, int64_t dim, Generator& gen);
  Tensor forward(const Tensor& x) const { return fc2->forward(relu(fc1->forward(x))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// VisDA's new classifier (reference get_head): 2048 -> 512 -> ReLU -> classes.
class ClassifierHead : public nn::Module {
 public:
  ClassifierHead(int64_t in, int64_t classes, Generator& gen);
  Tensor forward(const Tensor& x) const { return fc2->forward(relu(fc1->forward(x))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// How a network's convolutions on `dev` compute (nn::set_conv_numerics): --deterministic, --no-tf32
// and, for a training run (`training`), --precision; evaluation and feature extraction outside one
// compute in f32. Throws, saying why, where --precision bf16 asks what `dev` cannot do (a CPU
// without AVX512_BF16 or AMX, a GPU older than compute capability 8.0, no GPU).
ConvNumerics conv_numerics(const Config& cfg, Device dev, bool training);

// The one device setting of a run that no call carries: cuBLAS's TF32 on CUDA, off with --no-tf32
// (and off by default: only a program that turned it on sees a difference). --deterministic travels
// with the calls: the convolutions' ConvNumerics and DeepLab's upsamplings.
void apply_backend_settings(const Config& cfg);

class CsgNetwork : public nn::Module {
 public:
  // Every convolution in it computes as `numerics` says (conv_numerics).
  explicit CsgNetwork(const Config& cfg, const ConvNumerics& numerics = {});
  ~CsgNetwork() override;

  bool segmentation() const { return deeplab_q_ != nullptr; }
  // `encoder` (encoder_q or encoder_k) on x under NoGradGuard: the outputs of the stages s with
  // wanted[s - 1], the others possibly undefined. On the CPU with oneDNN the backbone runs
  // as the inference engine runs it (src/infer/backbone_runner.h: under half the time of the
  // training ops), elsewhere it is encoder.forward_features(x).
  models::ResNetFeatures features_without_grad(const models::ResNet& encoder, const Tensor& x,
                                               const std::array<bool, 4>& wanted);
  // Task logits of f_e: [N,classes] (VisDA) or [N,classes,H,W] (GTA5, at the input size),
  // and the stage outputs they came from.
  Tensor task_logits(const Tensor& x, models::ResNetFeatures* features) const;

  std::shared_ptr<models::ResNet> encoder_q, encoder_k;
  std::shared_ptr<ClassifierHead> fc_new;  // VisDA only
  std::map<int, std::shared_ptr<ProjectionHead>> heads_q, heads_k;
  std::map<int, std::unique_ptr<method::NegativeQueue>> queues;
  // Table 1's baselines (cfg.regularizer), set by to_device:
  //   regularized[i]  f_e's trained backbone parameters (conv and BN weights and biases; not the
  //                   task head), reference[i] f_eo's parameter of the same name (the ImageNet w0)
  //   imagenet_fc     asg-kl: the weights file's classifier (fc.weight, fc.bias), frozen; not
  //                   part of the state dict (reloaded from --weights, as f_eo)
  //   si              synaptic-intelligence: its path integral (saved in checkpoints)
  std::vector<Tensor> regularized, reference;
  std::shared_ptr<nn::Linear> imagenet_fc;
  std::unique_ptr<method::SynapticIntelligence> si;

  // Parameter groups of the reference (docs/paper-notes.md#optimiser-and-schedule).
  struct Groups {
    std::vector<Tensor> backbone, task_head, projection;
  };
  Groups parameter_groups() const;
  // Puts every module in the mode the reference trains in: both encoders' BN on ImageNet
  // statistics (eval), the segmentation head in train mode (BN batch statistics, dropout on).
  void set_training_modes();
  void set_eval_modes();
  void to_device(Device dev);

 private:
  std::shared_ptr<models::DeepLab> deeplab_q_;
  std::map<const models::ResNet*, std::unique_ptr<infer::BackboneRunner>> backbone_runners_;
  Regularizer regularizer_ = Regularizer::None;
  double si_damping_ = 1e-3;
};

}  // namespace csg::train
