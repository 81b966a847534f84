// src/method/csg_parts.cpp — A-pool, patch chunking, InfoNCE, EMA and the negatives queue.
#include "csg/autograd.h"
#include "csg/method.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg::method {

Tensor attentional_pool(const Tensor& values, const Tensor& attention) {
  check_dim("attentional_pool", values, 4, "values");
  check_same_shape("attentional_pool", values, attention);
  // Both weighted sums as batched products over [N,C,HW]: written element-wise, each broadcast a
  // [N,C,1,1] or [N,1,H,W] factor over the map, a strided pass over it forward and backward.
  const int64_t N = values.size(0), C = values.size(1), HW = values.size(2) * values.size(3);
  const Tensor att = attention.reshape({N, C, HW});
  Tensor gap = mean(att, {2}).reshape({N, 1, C});      // [N,1,C]
  Tensor raw = matmul(gap, att);                       // [N,1,HW]: sum over c of attention * gap
  Tensor a = div(raw, sum(raw, {2}, true));            // [N,1,HW], sums to 1 over H,W
  return matmul(values.reshape({N, C, HW}), a.reshape({N, HW, 1})).reshape({N, C});
}

Tensor chunk_patches(const Tensor& x, int64_t c) {
  check_dim("chunk_patches", x, 4, "input");
  CSG_CHECK(c >= 1, "chunk_patches: chunk count must be >= 1, got ", c);
  if (c == 1) return x;
  const int64_t H = x.size(2), W = x.size(3);
  // torch.chunk gives unequal pieces otherwise, which the reference could not stack either.
  CSG_CHECK(H % c == 0 && W % c == 0, "chunk_patches: a ", H, "x", W, " map is not divisible into ", c, "x", c,
            " equal patches; choose a crop whose feature map is a multiple of ", c);
  const int64_t N = x.size(0), C = x.size(1), ph = H / c, pw = W / c;
  // [N,C,c,ph,c,pw] -> [c,c,N,C,ph,pw]: one copy forward and one backward. Sliced and concatenated
  // instead, each of the c*c patches' backward wrote a zero-filled gradient the size of x, and the
  // c*c of them were summed: 64 map-sized passes each way in the GTA5 step.
  return x.reshape({N, C, c, ph, c, pw}).permute({2, 4, 0, 1, 3, 5}).contiguous().reshape({c * c * N, C, ph, pw});
}

Tensor info_nce_logits(const Tensor& q, const Tensor& k, const Tensor& queue, double temperature) {
  check_dim("info_nce_logits", q, 2, "q");
  check_same_shape("info_nce_logits", q, k);
  check_dim("info_nce_logits", queue, 2, "queue");
  CSG_CHECK(queue.size(0) == q.size(1), "info_nce_logits: queue ", queue.describe(), " does not hold ", q.size(1),
            "-d keys (q ", q.describe(), ")");
  Tensor pos = sum(mul(q, k), {1}, true);  // [N,1]
  Tensor neg = matmul(q, queue);           // [N,K]
  return mul(cat({pos, neg}, 1), 1.0 / temperature);
}

Tensor info_nce_loss(const Tensor& logits) {
  check_dim("info_nce_loss", logits, 2, "logits");
  Tensor target = zeros({logits.size(0)}, {DType::I64, logits.device()});
  return cross_entropy(logits, target);
}

void ema_update(const std::vector<Tensor>& target, const std::vector<Tensor>& source, double m) {
  CSG_CHECK(target.size() == source.size(), "ema_update: ", target.size(), " targets for ", source.size(), " sources");
  NoGradGuard ng;
  for (size_t i = 0; i < target.size(); ++i) {
    check_same_shape("ema_update", target[i], source[i]);
    Tensor t = target[i];
    t.mul_(m);
    t.add_(source[i].detach(), 1.0 - m);
  }
}

NegativeQueue::NegativeQueue(int64_t dim, int64_t size, uint64_t seed, Device dev) {
  CSG_CHECK(dim > 0 && size > 0, "NegativeQueue: dim and size must be positive, got ", dim, " and ", size);
  Generator gen(seed);
  NoGradGuard ng;
  queue_ = l2_normalize(randn({dim, size}, gen), 0).to(dev);  // unit-norm columns, as the reference
}

void NegativeQueue::enqueue(const Tensor& keys_in) {
  check_dim("NegativeQueue::enqueue", keys_in, 2, "keys");
  const int64_t n = keys_in.size(0), K = queue_.size(1);
  CSG_CHECK(keys_in.size(1) == queue_.size(0), "NegativeQueue::enqueue: keys ", keys_in.describe(), " for a queue of ",
            queue_.size(0), "-d keys");
  CSG_CHECK(n <= K, "NegativeQueue::enqueue: ", n, " keys do not fit a queue of ", K);
  NoGradGuard ng;
  Tensor cols = keys_in.detach().transpose(0, 1);  // [dim, n]
  const int64_t first = std::min(n, K - ptr_);
  queue_.slice(1, ptr_, ptr_ + first).copy_(cols.slice(1, 0, first));
  if (first < n) queue_.slice(1, 0, n - first).copy_(cols.slice(1, first, n));  // wrap to the front
  ptr_ = (ptr_ + n) % K;
}

void NegativeQueue::restore(const Tensor& keys, int64_t pointer) {
  CSG_CHECK(keys.shape() == queue_.shape(), "NegativeQueue::restore: ", keys.describe(), " does not match ",
            queue_.describe());
  CSG_CHECK(pointer >= 0 && pointer < queue_.size(1), "NegativeQueue::restore: pointer ", pointer, " out of range");
  NoGradGuard ng;
  queue_.copy_(keys);
  ptr_ = pointer;
}

}  // namespace csg::method
