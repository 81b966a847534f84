// src/infer/buffer_pool.h — activation buffers reused from one run of a network to the next.
//
// A run asks for buffers (acquire) and hands back those whose values are dead (release). The
// first run with a given input shape records which buffer each request got (best fit among the
// free ones, a new one when none fits); later runs with the same shape replay that record, so
// they get the same buffers in the same order and allocate nothing. Another input shape
// records afresh (growing the pool only where it must).
#pragma once
#include <cstdint>
#include <vector>

#include "csg/tensor.h"

namespace csg::infer {

class BufferPool {
 public:
  explicit BufferPool(Device device = Device::CPU) : device_(device) {}
  // Starts a run for an input of `input_shape`: every buffer is free again, so tensors
  // returned by the previous run are overwritten from here on.
  void begin(const Shape& input_shape);
  Tensor acquire(const Shape& shape);  // contiguous F32, contents undefined
  void release(const Tensor& t);       // a tensor acquire() returned (others are ignored)
  uint64_t allocations() const { return allocations_; }
  void clear();  // drops every buffer (a device change)

 private:
  struct Buffer {
    Tensor flat;
    bool in_use = false;
  };
  Device device_;
  std::vector<Buffer> buffers_;
  Shape shape_;                  // input shape of the recorded run
  std::vector<size_t> script_;   // buffer index per acquire, in order
  size_t cursor_ = 0;
  bool replaying_ = false;
  uint64_t allocations_ = 0;
};

}  // namespace csg::infer
