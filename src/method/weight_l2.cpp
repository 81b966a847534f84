// src/method/weight_l2.cpp — Table 1's "weight l2 distance" (L2-SP style): how far f_e's weights
// moved from the ImageNet weights, sum ||w - w0||^2; and the table of regularizer names.
#include <map>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

const std::vector<std::string>& regularizer_names() {
  static const std::vector<std::string> names = {"none", "weight-l2", "feature-l2", "synaptic-intelligence", "asg-kl"};
  return names;
}

double default_regularizer_weight(const std::string& name) {
  // The paper gives no weights for these baselines. asg-kl: ASG's train.sh (--lwf 0.1); the
  // others take the same 0.1 as CSG's lambda on VisDA, so every Table 1 row weighs its extra
  // term alike by default.
  static const std::map<std::string, double> w = {
      {"none", 0.0}, {"weight-l2", 0.1}, {"feature-l2", 0.1}, {"synaptic-intelligence", 0.1}, {"asg-kl", 0.1}};
  auto it = w.find(name);
  CSG_CHECK(it != w.end(), "unknown regularizer '", name, "' (none, weight-l2, feature-l2, synaptic-intelligence, asg-kl)");
  return it->second;
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
