// src/nn/module.cpp — parameter/buffer registration, state dicts, modes and device and dtype conversions.
#include <functional>
#include <map>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/nn.h"

namespace csg::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor& slot, Tensor value) {
  slot = value.defined() ? value.requires_grad_() : value;
  if (slot.defined()) slot.set_name(name);
  params_.emplace_back(name, &slot);
  return slot;
}

Tensor& Module::register_buffer(const std::string& name, Tensor& slot, Tensor value) {
  slot = value;
  if (slot.defined()) slot.set_name(name);
  buffers_.emplace_back(name, &slot);
  return slot;
}

void Module::collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers, NamedTensors* both) const {
  for (const auto& [name, t] : params_) {
    if (!t->defined()) continue;  // e.g. a conv without bias
    if (params) params->push_back({prefix + name, *t});
    if (both) both->push_back({prefix + name, *t});
  }
  for (const auto& [name, t] : buffers_) {
    if (!t->defined()) continue;
    if (buffers) buffers->push_back({prefix + name, *t});
    if (both) both->push_back({prefix + name, *t});
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, both);
}

void Module::for_each_module(const std::function<void(Module&)>& f) {
  f(*this);
  for (const auto& [name, child] : children_) child->for_each_module(f);
}

NamedTensors Module::named_parameters() const {
  NamedTensors r;
  collect("", &r, nullptr, nullptr);
  return r;
}
NamedTensors Module::named_buffers() const {
  NamedTensors r;
  collect("", nullptr, &r, nullptr);
  return r;
}
NamedTensors Module::state_dict() const {
  NamedTensors r;
  collect("", nullptr, nullptr, &r);
  return r;
}
std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> r;
  for (const NamedTensor& p : named_parameters())
    if (p.tensor.requires_grad()) r.push_back(p.tensor);
  return r;
}
std::vector<Tensor> Module::all_parameters() const {
  std::vector<Tensor> r;
  for (const NamedTensor& p : named_parameters()) r.push_back(p.tensor);
  return r;
}
size_t Module::num_parameters() const {
  size_t n = 0;
  for (const NamedTensor& p : named_parameters()) n += p.tensor.numel();
  return n;
}

Module::LoadReport Module::load_state_dict(const NamedTensors& sd, bool strict, const std::string& source) {
  const std::string from = source.empty() ? "load_state_dict" : source;
  std::map<std::string, Tensor> mine;
  for (const NamedTensor& p : state_dict()) mine[p.name] = p.tensor;
  LoadReport rep;
  std::map<std::string, bool> seen;
  NoGradGuard ng;
  for (const NamedTensor& entry : sd) {
    const std::string& name = entry.name;
    const Tensor& src = entry.tensor;
    auto it = mine.find(name);
    if (it == mine.end()) {
      rep.unexpected.push_back(name);
      continue;
    }
    Tensor dst = it->second;
    CSG_CHECK(dst.shape() == src.shape(), from, ": ", name, " has shape ", shape_str(src.shape()),
              source.empty() ? " in the state dict" : " in the file", " but ", shape_str(dst.shape()),
              " in the model");
    dst.copy_(src);
    seen[name] = true;
  }
  for (auto& [name, t] : mine)
    if (!seen.count(name)) rep.missing.push_back(name);
  if (strict && (!rep.missing.empty() || !rep.unexpected.empty())) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
      if (v.size() > 8) s += ", ... (" + std::to_string(v.size()) + " in all)";
      return s;
    };
    CSG_FAIL(from, ": ", rep.missing.size(), " missing key(s) [", list(rep.missing), "] and ",
             rep.unexpected.size(), " unexpected key(s) [", list(rep.unexpected),
             "]; check the architecture, or load with strict=false");
  }
  return rep;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::freeze() {
  for (auto& [n, t] : params_)
    if (t->defined()) t->requires_grad_(false);
  for (auto& [n, c] : children_) c->freeze();
}

// Replaces each defined parameter and buffer accepted by `convert_it` with `convert(t)`,
// keeping its name and requires_grad (a new leaf: gradients start empty), in every child too.
void Module::convert_tensors(const std::function<bool(const Tensor&)>& convert_it,
                             const std::function<Tensor(const Tensor&)>& convert) {
  for (auto* list : {&params_, &buffers_})
    for (auto& [name, t] : *list) {
      if (!t->defined() || !convert_it(*t)) continue;
      bool rg = t->requires_grad();
      Tensor converted = convert(t->detach());
      converted.set_name(name);
      if (rg) converted.requires_grad_();
      *t = converted;
    }
  for (auto& [n, c] : children_) c->convert_tensors(convert_it, convert);
}

void Module::to(Device dev) {
  // Integer buffers (BN's num_batches_tracked, the only kind) are counters that no kernel reads:
  // they stay on the host, where BN's per-step increment costs no device-to-host read (on CUDA
  // that read would wait for the stream: one sync per BN layer, 104 in a ResNet-101 step).
  convert_tensors([dev](const Tensor& t) { return t.device() != dev && t.dtype() != DType::I64; },
                  [dev](const Tensor& t) { return t.to(dev); });
}

void Module::to(DType dtype) {
  CSG_CHECK(dtype == DType::F32 || dtype == DType::F64, "Module::to: ", dtype_name(dtype),
            " is not a floating-point type (F32 or F64)");
  // Integer buffers (BN's num_batches_tracked) keep their type, as in PyTorch's module.double().
  convert_tensors([dtype](const Tensor& t) { return t.dtype() != dtype && t.dtype() != DType::I64; },
                  [dtype](const Tensor& t) { return t.to(dtype); });
}

}  // namespace csg::nn
