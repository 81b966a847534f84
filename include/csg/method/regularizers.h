// csg/method/regularizers.h — the baselines of the paper's Table 1: ways to keep the network
// trained on synthetic images close to its ImageNet initialisation, each added to the task loss
// as weight x regularizer (no InfoNCE). One file each in src/method/.
//
//   weight-l2               sum over f_e's trained backbone parameters of ||w - w0||^2
//   feature-l2              mean over the batch of ||g(f_e(x)) - g(f_eo(x))||^2 (layer4, pooled)
//   synaptic-intelligence   sum_k Omega_k (w_k - w0_k)^2, Omega from the path integral of the gradient
//   asg-kl                  KL(p_eo || p_e) of the ImageNet classifier's predictions (ASG's LwF term)
//
// w0 are the ImageNet weights (f_eo's parameters, which never change); f_eo is the frozen copy.
#pragma once
#include <string>
#include <vector>

#include "csg/name_table.h"
#include "csg/tensor.h"

namespace csg::method {

enum class Regularizer { None, WeightL2, FeatureL2, SynapticIntelligence, AsgKl };
// The command-line words (--regularizer, --regularizers, a checkpoint's config.regularizer).
inline constexpr Named<Regularizer> kRegularizerNames[] = {{Regularizer::None, "none"},
                                                           {Regularizer::WeightL2, "weight-l2"},
                                                           {Regularizer::FeatureL2, "feature-l2"},
                                                           {Regularizer::SynapticIntelligence, "synaptic-intelligence"},
                                                           {Regularizer::AsgKl, "asg-kl"}};
inline const char* name_of(Regularizer r) { return name_in(kRegularizerNames, r); }
inline Regularizer parse_regularizer(const std::string& name) { return parse_in(kRegularizerNames, name, "regularizer"); }
// "none", "weight-l2", "feature-l2", "synaptic-intelligence", "asg-kl".
const std::vector<std::string>& regularizer_names();
// The weight each is trained with unless told otherwise (docs/training.md#table-1s-baselines).
double default_regularizer_weight(Regularizer r);

// weight_l2.cpp: sum_i sum(square(w_i - w0_i)) -> [] (no 1/2 factor); w0 gets no gradient.
Tensor weight_l2_distance(const std::vector<Tensor>& weights, const std::vector<Tensor>& reference);

// feature_l2.cpp: features [N,C] and the reference's [N,C] of the same images ->
// mean over n of sum_c (f - f0)^2, a 0-d tensor. f0 gets no gradient (it comes from f_eo).
Tensor feature_l2_distance(const Tensor& features, const Tensor& reference);

// asg_kl.cpp: ASG's KL term (NVlabs/ASG train.py: KLDivLoss(reduction='batchmean') of
// log_softmax(new) against softmax(old), temperature 1): logits [N,K] of the trained network,
// reference_logits [N,K] of the frozen one ->
//   (1/N) sum_n sum_k p0[n,k] (log p0[n,k] - log p[n,k]),  p = softmax(logits), p0 = softmax(reference).
// Differentiable in `logits`; the reference side is treated as a constant.
Tensor asg_kl_divergence(const Tensor& logits, const Tensor& reference_logits);

// synaptic_intelligence.cpp: Zenke et al. 2017, online. The paper's SI has the importances of a
// finished first task; ImageNet's training path is not available to us, so the path integral is
// accumulated while training on the synthetic task, step by step:
//   omega_k += -g_k * delta_w_k      (g_k: the task loss's gradient, delta_w_k: the step's update)
//   Omega_k  = max(omega_k, 0) / ((w_k - w0_k)^2 + xi)
//   penalty  = sum_k Omega_k (w_k - w0_k)^2          (Omega treated as a constant)
// so the penalty starts at zero and grows on the weights that mattered for the loss so far.
// Negative path integrals (momentum can overshoot) are clamped so the penalty stays a distance.
// omega is training state: save it in checkpoints (path_integral / restore) for an exact resume.
class SynapticIntelligence {
 public:
  // weights: the trained parameters; reference: w0 of the same shapes (kept by reference, not
  // copied); damping: xi.
  SynapticIntelligence(std::vector<Tensor> weights, std::vector<Tensor> reference, double damping);

  // The penalty at the current weights (differentiable in the weights).
  Tensor penalty() const;
  // Around the optimizer's step: before_step() remembers the weights (after backward, before the
  // update); after_step(weight) adds -g_task * delta_w to omega, where g_task is the weights'
  // gradient minus weight x the penalty's own gradient (the task loss's share).
  void before_step();
  void after_step(double weight);

  const std::vector<Tensor>& path_integral() const { return omega_; }
  void restore(const std::vector<Tensor>& omega);
  void to(Device dev);

 private:
  Tensor importance(size_t i, const Tensor& w) const;  // Omega_i at weights w, no gradient
  std::vector<Tensor> weights_, reference_, omega_, before_;
  double damping_;
};

}  // namespace csg::method
