// src/method/feature_l2.cpp — Table 1's "feature l2 distance": f_e's pooled features of an image
// against f_eo's of the same image, mean over the batch of the squared l2 distance.
#include "csg/error.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

Tensor feature_l2_distance(const Tensor& features, const Tensor& reference) {
  check_dim("feature_l2_distance", features, 2, "features");
  check_same_shape("feature_l2_distance", features, reference);
  return mean(sum(square(sub(features, reference.detach())), {1}));
}

}  // namespace csg::method
