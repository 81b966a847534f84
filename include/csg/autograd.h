// csg/autograd.h — reverse-mode autograd as a small tape of closures.
//
// Every differentiable op computes its output, then calls record(): the output gets a
// Node holding the op's inputs and a closure that maps the gradient of the output to one
// gradient per input. Tensor::backward() sorts the nodes reachable from the root
// topologically and walks them in reverse, summing gradients that meet at a tensor and
// accumulating into the .grad of leaves that require grad.
//
// Convention: a backward closure returns gradients (it never writes into .grad itself);
// the engine does the accumulation, so "param grads +=, activation grads =" is stated once.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg {

// grads[i] is the gradient for inputs[i]; an undefined Tensor means "no gradient".
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  std::string op;               // "conv2d", named in errors raised during backward
  std::vector<Tensor> inputs;   // the op's differentiable inputs (graph edges)
  BackwardFn backward;          // released after backward unless retain_graph
  Shape out_shape;              // to check the incoming gradient
  DType out_dtype = DType::F32;
  Device out_device = Device::CPU;
};

// Grad mode is per thread; NoGradGuard turns recording off in a scope (frozen models,
// evaluation, EMA updates, optimizer steps).
bool grad_mode_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True if recording is on and some input requires grad: ops call this before doing
// work only needed for backward (saving a mask, say).
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attach `fn` as the backward of `out` (if any_requires_grad(inputs)). Returns `out`.
Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs, BackwardFn fn);

// A tensor saved for backward, with the storage version at save time; get() refuses to
// return it if an in-place op has written to it since.
class Saved {
 public:
  Saved() = default;
  explicit Saved(const Tensor& t);
  Tensor get(const char* op) const;

 private:
  Tensor t_;
  uint64_t version_ = 0;
};

// The engine; Tensor::backward() calls it.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// While one is alive on a thread, backward on that thread calls `fn(leaf)` once per leaf
// that requires grad, as soon as no node still to be walked feeds it: its .grad is final
// for this backward (data-parallel training starts communicating it then). Leaves that got
// no gradient are not reported. Not nestable.
class LeafGradientHook {
 public:
  explicit LeafGradientHook(std::function<void(const Tensor& leaf)> fn);
  ~LeafGradientHook();
  LeafGradientHook(const LeafGradientHook&) = delete;
  LeafGradientHook& operator=(const LeafGradientHook&) = delete;
};

}  // namespace csg
