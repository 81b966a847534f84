// csg/io/named_tensor.h — a tensor with its state-dict name, the unit the checkpoint
// readers and writers exchange.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "csg/tensor.h"

namespace csg {

struct NamedTensor {
  std::string name;  // e.g. "layer3.4.conv2.weight"
  Tensor tensor;
};

// The (name, tensor) pairs that nn::Module::load_state_dict takes.
inline std::vector<std::pair<std::string, Tensor>> to_pairs(const std::vector<NamedTensor>& tensors) {
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(tensors.size());
  for (const auto& t : tensors) out.emplace_back(t.name, t.tensor);
  return out;
}

}  // namespace csg
