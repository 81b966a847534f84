// src/method/synaptic_intelligence.cpp — Synaptic Intelligence (Zenke, Poole, Ganguli 2017),
// accumulated online while training (see csg/method/regularizers.h for why and how).
#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

SynapticIntelligence::SynapticIntelligence(std::vector<Tensor> weights, std::vector<Tensor> reference, double damping)
    : weights_(std::move(weights)), reference_(std::move(reference)), damping_(damping) {
  CSG_CHECK(weights_.size() == reference_.size() && !weights_.empty(), "SynapticIntelligence: ", weights_.size(),
            " weights for ", reference_.size(), " references");
  CSG_CHECK(damping_ > 0, "SynapticIntelligence: the damping xi must be positive, got ", damping_);
  NoGradGuard ng;
  for (size_t i = 0; i < weights_.size(); ++i) {
    check_same_shape("SynapticIntelligence", weights_[i], reference_[i]);
    omega_.push_back(zeros(weights_[i].shape(), {weights_[i].dtype(), weights_[i].device()}));
  }
}

Tensor SynapticIntelligence::importance(size_t i, const Tensor& w) const {
  NoGradGuard ng;
  Tensor d2 = square(sub(w.detach(), reference_[i]));
  return div(relu(omega_[i]), add(d2, damping_));
}

Tensor SynapticIntelligence::penalty() const {
  Tensor total;
  for (size_t i = 0; i < weights_.size(); ++i) {
    Tensor t = sum(mul(importance(i, weights_[i]), square(sub(weights_[i], reference_[i].detach()))));
    total = total.defined() ? add(total, t) : t;
  }
  return total;
}

void SynapticIntelligence::before_step() {
  NoGradGuard ng;
  before_.clear();
  for (const Tensor& w : weights_) before_.push_back(w.detach().clone());
}

void SynapticIntelligence::after_step(double weight) {
  CSG_CHECK(before_.size() == weights_.size(), "SynapticIntelligence::after_step without before_step");
  NoGradGuard ng;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const Tensor g = weights_[i].grad();
    if (!g.defined()) continue;  // no gradient reached it: it did not move for the loss
    // The penalty's gradient at the step's weights, 2 Omega (w - w0), is not the task's: remove it.
    Tensor own = mul(mul(importance(i, before_[i]), sub(before_[i], reference_[i])), 2.0 * weight);
    Tensor g_task = sub(g, own);
    Tensor delta = sub(weights_[i].detach(), before_[i]);
    omega_[i].add_(mul(g_task, delta), -1.0);
  }
  before_.clear();
}

void SynapticIntelligence::restore(const std::vector<Tensor>& omega) {
  CSG_CHECK(omega.size() == omega_.size(), "SynapticIntelligence::restore: ", omega.size(), " tensors for ",
            omega_.size(), " weights");
  NoGradGuard ng;
  for (size_t i = 0; i < omega.size(); ++i) {
    check_same_shape("SynapticIntelligence::restore", omega_[i], omega[i]);
    omega_[i].copy_(omega[i]);
  }
}

void SynapticIntelligence::to(Device dev) {
  for (Tensor& o : omega_) o = o.to(dev);
}

}  // namespace csg::method
