// src/infer/buffer_pool.cpp — record once, replay after (see buffer_pool.h).
#include "src/infer/buffer_pool.h"

namespace csg::infer {

void BufferPool::begin(const Shape& input_shape) {
  for (Buffer& b : buffers_) b.in_use = false;
  // Replay only a complete record of the same shape; otherwise record this run.
  replaying_ = input_shape == shape_ && !script_.empty();
  if (!replaying_) {
    shape_ = input_shape;
    script_.clear();
  }
  cursor_ = 0;
}

Tensor BufferPool::acquire(const Shape& shape) {
  const int64_t need = std::max<int64_t>(shape_numel(shape), 1);
  size_t pick = buffers_.size();
  if (replaying_ && cursor_ < script_.size()) {
    const size_t i = script_[cursor_];
    if (!buffers_[i].in_use && buffers_[i].flat.numel() >= need) pick = i;
  }
  if (pick == buffers_.size()) {  // recording (or a replay that no longer fits: record from here)
    if (replaying_) script_.resize(cursor_), replaying_ = false;
    for (size_t i = 0; i < buffers_.size(); ++i)
      if (!buffers_[i].in_use && buffers_[i].flat.numel() >= need &&
          (pick == buffers_.size() || buffers_[i].flat.numel() < buffers_[pick].flat.numel()))
        pick = i;
    if (pick == buffers_.size()) {
      buffers_.push_back({empty({need}, {DType::F32, device_}), false});
      ++allocations_;
    }
    script_.push_back(pick);
  }
  ++cursor_;
  buffers_[pick].in_use = true;
  return make_view(buffers_[pick].flat, shape, contiguous_strides(shape), 0);
}

void BufferPool::release(const Tensor& t) {
  if (!t.defined()) return;
  for (Buffer& b : buffers_)
    if (b.in_use && &b.flat.storage() == &t.storage()) {
      b.in_use = false;
      return;
    }
}

void BufferPool::clear() {
  buffers_.clear();
  script_.clear();
  shape_.clear();
  replaying_ = false;
}

}  // namespace csg::infer
