// kernels/loss.h — CUDA launcher for the fused softmax cross-entropy.
#pragma once
#include <cstdint>

namespace csg::kernels {

struct CrossEntropyStatus {
  int64_t valid = 0;       // targets that are not ignore_index
  int64_t first_bad = -1;  // smallest flat index (into target) of a target outside [0, C), or -1
  int64_t bad_value = 0;   // target[first_bad]
};

// logits [outer, classes, inner] contiguous, target [outer, inner] (I64), one prediction per
// lane (o, j): [N,C] logits are outer=N, inner=1; [N,C,H,W] are outer=N, inner=H*W.
// One pass computes, per lane, loss = logsumexp - logit[target] and, when dlogits is not
// null, dlogits = softmax - onehot(target) (zero for ignored lanes) with shape of logits.
// *loss (a device scalar) receives the mean loss over valid lanes (0 when none is valid).
// A bad target is reported through the status (found with a device flag, checked after
// the kernel); *loss is then left unset.
CrossEntropyStatus cross_entropy_f32(const float* logits, const int64_t* target, float* loss, float* dlogits,
                                     int64_t outer, int64_t classes, int64_t inner, int64_t ignore_index);

}  // namespace csg::kernels
