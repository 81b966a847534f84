// src/distributed/gradient_averager.cpp — DDP's gradient buckets: flatten the gradients of a
// bucket once backward has finished them, all-reduce the flat buffer while backward goes on,
// then hand each parameter its averaged slice.
#include <algorithm>
#include <unordered_map>

#include "csg/autograd.h"
#include "csg/distributed.h"
#include "csg/ops.h"

namespace csg::dist {

GradientAverager::GradientAverager(Communicator& comm, std::vector<Tensor> params, size_t bucket_bytes)
    : comm_(comm), params_(std::move(params)) {
  bucket_of_.assign(params_.size(), 0);
  size_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {  // reverse: the order backward finishes them in
    const Tensor& p = params_[k];
    CSG_CHECK(p.dtype() == DType::F32, "GradientAverager: parameter ", p.describe(), " is not float32");
    if (buckets_.empty() || bytes >= bucket_bytes) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += static_cast<size_t>(p.numel()) * sizeof(float);
  }
}

void GradientAverager::on_gradient_ready(size_t k) {
  Bucket& b = buckets_[bucket_of_[k]];
  if (++b.ready == b.params.size()) complete_[bucket_of_[k]] = true;
  launch_in_order();
  for (auto& p : pending_)
    if (p) p->poll();  // MPI progresses a non-blocking reduction only inside MPI calls
}

// Buckets start strictly in index order, so every rank issues the same sequence of collectives
// whatever the order in which its gradients complete.
void GradientAverager::launch_in_order() {
  while (next_launch_ < buckets_.size() && complete_[next_launch_]) {
    const Bucket& b = buckets_[next_launch_];
    std::vector<Tensor> pieces;
    for (size_t k : b.params) {
      const Tensor g = params_[k].grad();
      pieces.push_back(g.defined() ? g.reshape({-1}) : zeros({params_[k].numel()}, params_[k].options()));
    }
    flat_[next_launch_] = pieces.size() == 1 ? pieces[0].contiguous().clone() : cat(pieces, 0);
    pending_[next_launch_] = comm_.start_all_reduce_sum(flat_[next_launch_]);
    ++next_launch_;
  }
}

void GradientAverager::backward(const Tensor& loss) {
  if (comm_.size() == 1) {
    loss.backward();
    return;
  }
  flat_.assign(buckets_.size(), Tensor());
  pending_.clear();
  pending_.resize(buckets_.size());
  complete_.assign(buckets_.size(), false);
  for (Bucket& b : buckets_) b.ready = 0;
  next_launch_ = 0;
  std::unordered_map<const TensorImpl*, size_t> index_of;
  for (size_t k = 0; k < params_.size(); ++k) index_of[&params_[k].impl()] = k;
  {
    LeafGradientHook hook([&](const Tensor& leaf) {
      auto it = index_of.find(&leaf.impl());
      if (it != index_of.end()) on_gradient_ready(it->second);
    });
    loss.backward();
  }
  // Parameters that got no gradient never became ready: their buckets go now, zeros in their place.
  std::fill(complete_.begin(), complete_.end(), true);
  launch_in_order();
  const double inv = 1.0 / comm_.size();
  NoGradGuard no_grad;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    pending_[i]->wait();
    flat_[i].mul_(inv);
    int64_t offset = 0;
    for (size_t k : buckets_[i].params) {
      Tensor& p = params_[k];
      const int64_t n = p.numel();
      if (p.grad().defined()) p.set_grad(flat_[i].slice(0, offset, offset + n).view(p.shape()));
      offset += n;
    }
  }
  pending_.clear();
  flat_.clear();
}

}  // namespace csg::dist
