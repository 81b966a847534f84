// src/ops/conv_bn_eval.cpp — conv2d_bn_eval: a convolution and its batch norm on running statistics
// as one convolution with scaled weights and a bias (see csg/ops.h). Composed of differentiable
// ops, so autograd gives dW = s * G, dgamma = <G[o], w[o]> / sqrt(var + eps) and dbeta = sum(dy)
// (G: the convolution's weight gradient): parameter-sized work besides the convolution's backward.
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {
constexpr const char* kOp = "conv2d_bn_eval";

// The folded weights and the shift, from differentiable ops.
struct Folded {
  Tensor scaled, shift;
};
Folded fold(const Tensor& weight, const Tensor& conv_bias, const Tensor& gamma, const Tensor& beta,
            const Tensor& running_mean, const Tensor& running_var, double eps) {
  check_float(kOp, weight, "weight");
  check_dim(kOp, weight, 4, "weight [O,C,KH,KW]");
  check_channel_vector(kOp, weight, 0, "O", conv_bias, "conv_bias", true);
  check_channel_vector(kOp, weight, 0, "O", gamma, "gamma", true);
  check_channel_vector(kOp, weight, 0, "O", beta, "beta", true);
  check_channel_vector(kOp, weight, 0, "O", running_mean, "running_mean", false);
  check_channel_vector(kOp, weight, 0, "O", running_var, "running_var", false);
  CSG_CHECK(!running_mean.requires_grad() && !running_var.requires_grad(), kOp,
            ": running statistics are buffers and must not require grad: ", running_mean.describe(), ", ",
            running_var.describe());
  CSG_CHECK(eps >= 0, kOp, ": eps must be >= 0, got ", eps);
  const int64_t out = weight.size(0);
  const Tensor inv_std = div(ones({out}, running_var.options()), sqrt(add(running_var.detach(), eps)));
  const Tensor scale = gamma.defined() ? mul(gamma, inv_std) : inv_std;
  Tensor shift = neg(mul(running_mean.detach(), scale));
  if (beta.defined()) shift = add(shift, beta);
  if (conv_bias.defined()) shift = add(shift, mul(conv_bias, scale));
  // Scaled as rows [O, C*KH*KW] against [O, 1]: broadcasting over trailing size-1 dims ([O,1,1,1])
  // runs element by element, many times slower.
  const Tensor scaled = mul(weight.reshape({out, -1}), scale.reshape({out, 1})).reshape(weight.shape());
  return {scaled, shift};
}

}  // namespace

Tensor conv2d_bn_eval(const Tensor& x, const Tensor& weight, const Tensor& conv_bias, const Tensor& gamma,
                      const Tensor& beta, const Tensor& running_mean, const Tensor& running_var, double eps,
                      const Conv2dOptions& opt) {
  const Folded f = fold(weight, conv_bias, gamma, beta, running_mean, running_var, eps);
  return conv2d(x, f.scaled, f.shift, opt);
}

ShiftedConv conv2d_bn_eval_apart(const Tensor& x, const Tensor& weight, const Tensor& conv_bias, const Tensor& gamma,
                                 const Tensor& beta, const Tensor& running_mean, const Tensor& running_var,
                                 double eps, const Conv2dOptions& opt) {
  const Folded f = fold(weight, conv_bias, gamma, beta, running_mean, running_var, eps);
  return {conv2d(x, f.scaled, Tensor(), opt), f.shift};
}

}  // namespace csg
