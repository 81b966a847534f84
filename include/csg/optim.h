// csg/optim.h — SGD with momentum and weight decay, in the reference's variant and PyTorch's,
// and the learning-rate schedule of the CSG reference (quadratic warm-up, then poly decay).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg::optim {

// A set of parameters sharing a base learning rate (CSG: backbone 1e-5, heads 1e-4).
struct ParamGroup {
  std::string name;
  std::vector<Tensor> params;
  double base_lr = 0.0;
};

enum class SgdVariant {
  // The CSG reference (utils/sgd.py, Caffe's SGD): g = grad + wd*p; v = mu*v + lr*g
  // (first step v = lr*g); p -= v. The learning rate lives inside the momentum buffer.
  Reference,
  // torch.optim.SGD: g = grad + wd*p; v = mu*v + g (first step v = g); p -= lr*v.
  Torch,
};

class SGD {
 public:
  SGD(std::vector<ParamGroup> groups, double momentum = 0.9, double weight_decay = 5e-4,
      SgdVariant variant = SgdVariant::Reference);
  // One update with lr = base_lr * lr_scale for every group. Parameters without a gradient
  // are left as they are (as PyTorch does).
  void step(double lr_scale = 1.0);
  void zero_grad();  // drops every parameter's gradient
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Momentum buffers, one per parameter in group order (undefined until its first step);
  // exposed for checkpoints.
  std::vector<Tensor>& momentum_buffers() { return buffers_; }

 private:
  std::vector<ParamGroup> groups_;
  std::vector<Tensor> buffers_;
  double momentum_, weight_decay_;
  SgdVariant variant_;
};

// The reference's per-iteration factor (utils/utils.py): min(0.01 + 0.99*(t/warmup)^2, 1) *
// (1 - t/t_max)^power; multiply each group's base LR by it. t counts from 0.
double warmup_poly_lr_scale(int64_t t, int64_t t_max, int64_t warmup = 100, double power = 0.9);

}  // namespace csg::optim
