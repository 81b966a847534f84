// csg/method.h — the pieces of Contrastive Syn-to-Real Generalization (paper section 3,
// docs/paper-notes.md#the-training-step), each a small function over the engine's ops.
#pragma once
#include <cstdint>
#include <vector>

#include "csg/tensor.h"

namespace csg::method {

// A-pool (paper section 3.4): values V [N,C,H,W] pooled with attention computed from A
// [N,C,H,W] (same shape, non-negative, e.g. post-ReLU maps):
//   g = mean_hw A;  raw[h,w] = <A[:,h,w], g>;  a = raw / sum_hw raw;  out[c] = sum_hw V[c,h,w] a[h,w]
// -> [N,C]. Linear normalisation, no softmax or epsilon, as the reference. Differentiable in
// both V and A (the query side passes the same map twice).
Tensor attentional_pool(const Tensor& values, const Tensor& attention);

// Patch chunking for dense NCE (reference `chunk_feature`): splits [B,C,H,W] into c x c patches
// with torch.chunk's sizes (ceil(H/c) rows each, the last smaller) and stacks them on the batch
// axis, patch-major: index (i*c + j)*B + b. c = 1 returns x.
Tensor chunk_patches(const Tensor& x, int64_t c);

// InfoNCE logits (paper eq. 3): q [N,D] and k [N,D] l2-normalised, queue [D,K] of past keys:
// [N, 1+K] = [q.k, q.queue] / temperature; the positive is class 0.
Tensor info_nce_logits(const Tensor& q, const Tensor& k, const Tensor& queue, double temperature);
// cross_entropy(logits, 0) over the rows: the InfoNCE loss.
Tensor info_nce_loss(const Tensor& logits);

// Exponential moving average of parameters: target = m*target + (1-m)*source, in place,
// no gradient (the key heads h~ follow the query heads h).
void ema_update(const std::vector<Tensor>& target, const std::vector<Tensor>& source, double momentum);

// A MoCo-style FIFO of negative keys for one layer: [dim, K] columns, initialised with
// unit-norm Gaussian columns; enqueue overwrites the oldest columns, wrapping at K.
class NegativeQueue {
 public:
  NegativeQueue(int64_t dim, int64_t size, uint64_t seed, Device dev = Device::CPU);
  void enqueue(const Tensor& keys);  // keys [N, dim], N <= size; no gradient
  const Tensor& keys() const { return queue_; }  // [dim, K]
  int64_t pointer() const { return ptr_; }
  void restore(const Tensor& keys, int64_t pointer);  // from a checkpoint
  void to(Device dev) { queue_ = queue_.to(dev); }

 private:
  Tensor queue_;
  int64_t ptr_ = 0;
};

}  // namespace csg::method
