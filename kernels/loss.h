// kernels/loss.h — CUDA launcher for the fused softmax cross-entropy.
#pragma once
#include <cstdint>
#include <functional>

namespace csg::kernels {

// logits [outer, classes, inner] contiguous, target [outer, inner] (I64), one prediction per
// lane (o, j): [N,C] logits are outer=N, inner=1; [N,C,H,W] are outer=N, inner=H*W.
// One pass computes, per lane, loss = logsumexp - logit[target] and, when dlogits is not
// null, dlogits = softmax - onehot(target) (zero for ignored lanes) with shape of logits.
// Device scalars: *loss receives the mean loss over valid lanes, *inv_valid 1/(valid lanes)
// (both 0 when none is valid). Nothing is read back: targets outside [0, classes) that are
// not ignore_index are checked on the device, and at the host's next read-back (or
// csg::cuda::synchronize) report_bad(first bad flat index, its value) is called; the lane is
// treated as ignored meanwhile.
void cross_entropy_f32(const float* logits, const int64_t* target, float* loss, float* inv_valid, float* dlogits,
                       int64_t outer, int64_t classes, int64_t inner, int64_t ignore_index,
                       std::function<void(int64_t first_bad, int64_t value)> report_bad);

}  // namespace csg::kernels
