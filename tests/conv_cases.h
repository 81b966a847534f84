// tests/conv_cases.h — what the convolution tests of several files share (test_onednn.cpp,
// test_cuda_bf16_conv.cpp): a case (geometry, bias or not), its options, random f32 operands for
// it, and conv2d forward and backward on a device with the gradients read back.
#pragma once
#include <cstdint>
#include <vector>

#include "csg/csg.h"
#include "tests/testing.h"

namespace csg::testing {

struct ConvCase {
  const char* name;
  Shape x, w;
  int64_t stride, pad, dilation;
  bool bias;
};

inline Conv2dOptions conv_options(const ConvCase& c, const ConvNumerics& numerics = {}) {
  Conv2dOptions o;
  o.numerics = numerics;
  o.stride_h = o.stride_w = c.stride;
  o.pad_h = o.pad_w = c.pad;
  o.dilation_h = o.dilation_w = c.dilation;
  return o;
}

// BF16 mixed precision, with the CPU's kernel choice `kernel` (Auto: the fastest, timed).
inline ConvNumerics bf16_numerics(Bf16CpuKernel kernel = Bf16CpuKernel::Auto) {
  ConvNumerics n;
  n.precision = ConvPrecision::Bf16;
  n.cpu_bf16_kernel = kernel;
  return n;
}

// Random f32 operands of case c: x, w (in [-0.2, 0.2]), b (when the case has one) and dy of y's
// shape; `seed` advances past the seeds used.
struct ConvOperands {
  Tensor x, w, b, dy;
};
inline ConvOperands conv_operands(const ConvCase& c, uint64_t& seed) {
  ConvOperands o;
  o.x = uniform(c.x, seed++, DType::F32);
  o.w = uniform(c.w, seed++, DType::F32, -0.2, 0.2);
  o.b = c.bias ? uniform({c.w[0]}, seed++, DType::F32) : Tensor();
  o.dy = uniform(conv2d(o.x, o.w, o.b, conv_options(c)).shape(), seed++, DType::F32);
  return o;
}

// conv2d forward and backward on `dev`, computing as `numerics` says, on copies of the inputs that
// require grad; returns {y, dx, dw, db} on the CPU (db undefined without a bias), in the inputs' dtype.
inline std::vector<Tensor> conv_run(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b,
                                    const Tensor& dy, Device dev = Device::CPU, const ConvNumerics& numerics = {}) {
  Tensor xi = x.to(dev).detach().requires_grad_(), wi = w.to(dev).detach().requires_grad_();
  Tensor bi = b.defined() ? b.to(dev).detach().requires_grad_() : Tensor();
  Tensor y = conv2d(xi, wi, bi, conv_options(c, numerics));
  y.backward(dy.to(dev));
  auto back = [](const Tensor& t) { return t.defined() ? t.to(Device::CPU) : Tensor(); };
  return {back(y.detach()), back(xi.grad()), back(wi.grad()), back(bi.defined() ? bi.grad() : Tensor())};
}

}  // namespace csg::testing
