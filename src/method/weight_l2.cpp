// src/method/weight_l2.cpp — Table 1's "weight l2 distance" (L2-SP style): how far f_e's weights
// moved from the ImageNet weights, sum ||w - w0||^2; and the table of regularizer names.
#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

const std::vector<std::string>& regularizer_names() {
  static const std::vector<std::string> names = names_in(kRegularizerNames);
  return names;
}

double default_regularizer_weight(Regularizer r) {
  // The paper gives no weights for these baselines. asg-kl: ASG's train.sh (--lwf 0.1); the
  // others take the same 0.1 as CSG's lambda on VisDA, so every Table 1 row weighs its extra
  // term alike by default.
  return r == Regularizer::None ? 0.0 : 0.1;
}

Tensor weight_l2_distance(const std::vector<Tensor>& weights, const std::vector<Tensor>& reference) {
  CSG_CHECK(weights.size() == reference.size(), "weight_l2_distance: ", weights.size(), " weights for ",
            reference.size(), " references");
  CSG_CHECK(!weights.empty(), "weight_l2_distance: no weights");
  Tensor total;
  for (size_t i = 0; i < weights.size(); ++i) {
    check_same_shape("weight_l2_distance", weights[i], reference[i]);
    Tensor d = sum(square(sub(weights[i], reference[i].detach())));
    total = total.defined() ? add(total, d) : d;
  }
  return total;
}

}  // namespace csg::method
