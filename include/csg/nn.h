// csg/nn.h — modules: named parameters and buffers with PyTorch's state_dict names.
//
// A Module owns its tensors as plain members (`weight`, `bias`, ...) and registers a pointer
// to each under its PyTorch name, so `layer3.4.conv2.weight` means the same thing here as in
// a torchvision checkpoint. Modules live in shared_ptrs and are never copied or moved, which
// keeps the registered pointers valid.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csg/io/named_tensor.h"
#include "csg/ops.h"
#include "csg/tensor.h"

namespace csg::nn {

using NamedTensors = std::vector<NamedTensor>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // PyTorch's order: a module's own parameters, then its own buffers, then each child's,
  // recursively, with dotted prefixes.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  NamedTensors state_dict() const;  // parameters and buffers, interleaved per module as PyTorch does
  std::vector<Tensor> parameters() const;  // only those that require grad
  std::vector<Tensor> all_parameters() const;  // frozen ones too, in state-dict order
  size_t num_parameters() const;           // elements over all parameters

  // Copies tensors by name into this module's (shapes must match). Names absent from the
  // module are "unexpected", module tensors absent from `sd` are "missing"; with strict,
  // either is an error listing them. Returns the names that were not loaded. `source` (the
  // file `sd` was read from) starts every error message.
  struct LoadReport {
    std::vector<std::string> missing, unexpected;
  };
  LoadReport load_state_dict(const NamedTensors& sd, bool strict = true, const std::string& source = "");

  virtual void train(bool on = true);  // this module and every child
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // requires_grad false on every parameter (BN layers then run Frozen in eval mode).
  void freeze();
  void to(Device dev);  // moves every parameter and floating-point buffer (counters stay on the host)
  // Converts every floating-point parameter and buffer (F32 <-> F64; integer buffers stay).
  void to(DType dtype);
  // f(m) for this module and every module under it, parents before their children.
  void for_each_module(const std::function<void(Module&)>& f);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor& slot, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor& slot, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  void convert_tensors(const std::function<bool(const Tensor&)>& convert_it,
                       const std::function<Tensor(const Tensor&)>& convert);
  void collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers, NamedTensors* both) const;
  std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// ---- layers (weights initialised as PyTorch's defaults unless a model re-initialises) ----
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1,
         bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;  // [N,in,H,W] -> [N,out,OH,OW]
  Tensor weight;                          // [out,in,k,k]
  Tensor bias;                            // [out] or undefined
  Conv2dOptions opt;  // geometry and numerics (precision, determinism, TF32), passed to every call
};
// Sets opt.numerics of every Conv2d in `m` and its children: how a model's convolutions compute,
// chosen once where the model is set up (a training run: src/train/network.cpp).
void set_conv_numerics(Module& m, const ConvNumerics& numerics);

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double momentum = 0.1, double eps = 1e-5);
  // Train mode: batch statistics. Eval: running statistics; Frozen when weight no longer
  // requires grad (a frozen backbone).
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;                                  // [C]
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], [] (i64)
  double momentum, eps;
};

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;  // [...,in] -> [...,out]
  Tensor weight;                          // [out,in]
  Tensor bias;                            // [out] or undefined
};

// Children named "0", "1", ... as torch.nn.Sequential; holds modules of one interface.
template <class M>
class Sequential : public Module {
 public:
  void push_back(std::shared_ptr<M> m) { items_.push_back(register_module(std::to_string(items_.size()), m)); }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_[i]; }
  const std::vector<std::shared_ptr<M>>& items() const { return items_; }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

// A module whose children are named explicitly ("0", "1", "4" with gaps where PyTorch has a
// parameterless ReLU or pooling at that index), to reproduce nested state_dict names.
class ModuleDict : public Module {
 public:
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, m);
  }
};

// Weight initialisers (in place, under no-grad).
void kaiming_normal_fan_out(Tensor& w, Generator& gen);          // std = sqrt(2 / fan_out), torchvision's conv init
void uniform_fan_in(Tensor& w, int64_t fan_in, Generator& gen);  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch default

}  // namespace csg::nn
