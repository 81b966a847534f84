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

}  // namespace csg
