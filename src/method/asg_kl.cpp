// src/method/asg_kl.cpp — ASG's KL term (Chen et al. 2020, NVlabs/ASG train.py, weight --lwf 0.1):
// the ImageNet classifier on f_e's pooled layer4 against the same classifier on f_eo's, for the
// same image; KLDivLoss(log_softmax(new), softmax(old)) with reduction 'batchmean'.
#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

Tensor asg_kl_divergence(const Tensor& logits, const Tensor& reference_logits) {
  check_dim("asg_kl_divergence", logits, 2, "logits");
  check_same_shape("asg_kl_divergence", logits, reference_logits);
  Tensor log_p0, p0;
  {
    NoGradGuard ng;
    log_p0 = log_softmax(reference_logits.detach(), 1);
    p0 = exp(log_p0);
  }
  Tensor per_row = sum(mul(p0, sub(log_p0, log_softmax(logits, 1))), {1});  // KL(p0 || p) per image
  return mean(per_row);                                                       // 'batchmean'
}

}  // namespace csg::method
