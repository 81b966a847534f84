// tests/test_conv_bn_eval.cpp — conv2d_bn_eval, a convolution with its batch norm on running
// statistics folded in: finite-difference gradients in double, the same values and gradients as
// batch_norm(conv2d(...)) in Eval and Frozen mode, CPU/CUDA parity, and a ResNet-18 whose blocks fold
// their BNs while training on running statistics against the same network run layer by layer.
#include <map>
#include <string>

#include "csg/models/resnet.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_close;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::Tolerance;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

Conv2dOptions strided_dilated_padded() {
  Conv2dOptions o;
  o.stride_h = 2, o.stride_w = 1, o.pad_h = 1, o.pad_w = 2, o.dilation_h = 1, o.dilation_w = 2;
  return o;
}

Tensor positive(const Shape& shape, uint64_t seed, DType dt = DType::F64) { return uniform(shape, seed, dt, 0.5, 2.0); }

// The unfolded reference: the convolution, then BN on running statistics.
Tensor conv_then_bn(const Ins& in, const Tensor& rm, const Tensor& rv, BatchNormMode mode, const Conv2dOptions& o) {
  return batch_norm(conv2d(in[0], in[1], in[2], o), in[3], in[4], rm, rv, mode, 0.1, 1e-5);
}

// Gradients of sum(g * f(inputs)) for every input that requires grad (undefined for the others).
Ins gradients(const std::function<Tensor(const Ins&)>& f, const Ins& inputs, const Tensor& g, Tensor* y) {
  for (const Tensor& t : inputs)
    if (t.defined()) Tensor(t).zero_grad();
  *y = f(inputs);
  sum(mul(*y, g)).backward();
  Ins grads;
  for (const Tensor& t : inputs) grads.push_back(t.defined() ? t.grad() : Tensor());
  return grads;
}

}  // namespace

TEST(ConvBnEval, GradientsMatchFiniteDifferences) {
  const Conv2dOptions o = strided_dilated_padded();
  Tensor rm = uniform({4}, 3), rv = positive({4}, 4);
  Tensor x = uniform({2, 3, 7, 8}, 5).requires_grad_(), w = uniform({4, 3, 3, 2}, 6).requires_grad_();
  Tensor cb = uniform({4}, 7).requires_grad_(), gamma = uniform({4}, 8).requires_grad_();
  Tensor beta = uniform({4}, 9).requires_grad_();
  expect_gradients_match(
      [&](const Ins& in) { return conv2d_bn_eval(in[0], in[1], in[2], in[3], in[4], rm, rv, 1e-5, o); },
      {x, w, cb, gamma, beta});
  // No conv bias and no affine BN: scale 1 / sqrt(var + eps), shift -mean * scale.
  expect_gradients_match(
      [&](const Ins& in) { return conv2d_bn_eval(in[0], in[1], Tensor(), Tensor(), Tensor(), rm, rv, 1e-5, o); },
      {x, w});
}

// f32 on the CPU (oneDNN): values and every gradient as the unfolded convolution and BN compute them,
// within 1e-5 of the largest magnitude (the fold only reorders the rounding of w * s and the shift).
TEST(ConvBnEval, ApartIsTheConvolutionAndItsShift) {
  const Conv2dOptions o = strided_dilated_padded();
  Tensor rm = uniform({4}, 13), rv = positive({4}, 14);
  Tensor x = uniform({2, 3, 7, 8}, 15).requires_grad_(), w = uniform({4, 3, 3, 2}, 16).requires_grad_();
  Tensor cb = uniform({4}, 17).requires_grad_(), gamma = uniform({4}, 18).requires_grad_();
  Tensor beta = uniform({4}, 19).requires_grad_();
  auto shifted_back = [&](const Ins& in) {
    const ShiftedConv r = conv2d_bn_eval_apart(in[0], in[1], in[2], in[3], in[4], rm, rv, 1e-5, o);
    return add(r.unshifted, r.shift.reshape({1, 4, 1, 1}));
  };
  expect_gradients_match(shifted_back, {x, w, cb, gamma, beta});
  expect_close(shifted_back({x, w, cb, gamma, beta}), conv2d_bn_eval(x, w, cb, gamma, beta, rm, rv, 1e-5, o), 1e-12,
               1e-12, Tolerance::PerElement, "unshifted + shift against conv2d_bn_eval");
}

TEST(ConvBnEval, MatchesBatchNormOfConvolution) {
  for (BatchNormMode mode : {BatchNormMode::Eval, BatchNormMode::Frozen})
    for (bool conv_bias : {true, false}) {
      SCOPED_TRACE(detail::cat(mode == BatchNormMode::Eval ? "Eval" : "Frozen", conv_bias ? ", conv bias" : ""));
      const Conv2dOptions o = strided_dilated_padded();
      const DType f = DType::F32;
      Tensor rm = uniform({16}, 10, f), rv = positive({16}, 11, f);
      Ins in = {uniform({2, 8, 13, 12}, 12, f).requires_grad_(), uniform({16, 8, 3, 3}, 13, f).requires_grad_(),
                conv_bias ? uniform({16}, 14, f).requires_grad_() : Tensor(), uniform({16}, 15, f).requires_grad_(),
                uniform({16}, 16, f).requires_grad_()};
      const bool frozen = mode == BatchNormMode::Frozen;
      Tensor g = uniform({2, 16, 7, 12}, 17, f), folded, want;
      Ins got = gradients(
          [&](const Ins& v) {
            // Frozen: BN's weight and bias are constants, as the models pass them.
            return conv2d_bn_eval(v[0], v[1], v[2], frozen ? v[3].detach() : v[3], frozen ? v[4].detach() : v[4], rm,
                                  rv, 1e-5, o);
          },
          in, g, &folded);
      Ins ref = gradients([&](const Ins& v) { return conv_then_bn(v, rm, rv, mode, o); }, in, g, &want);
      expect_close(folded, want, 0, 1e-5, Tolerance::ScaledByMax, "y");
      const char* names[] = {"dx", "dw", "dconv_bias", "dgamma", "dbeta"};
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_EQ(got[i].defined(), ref[i].defined()) << names[i];
        if (ref[i].defined()) {
          expect_close(got[i], ref[i], 0, 1e-5, Tolerance::ScaledByMax, names[i]);
        }
      }
      if (frozen) {
        EXPECT_FALSE(got[3].defined() || got[4].defined());
      }
    }
}

TEST(ConvBnEval, RunningStatisticsMustNotRequireGrad) {
  Tensor x = uniform({1, 2, 4, 4}, 20), w = uniform({3, 2, 1, 1}, 21);
  Tensor rm = uniform({3}, 22).requires_grad_(), rv = positive({3}, 23);
  EXPECT_THROW(conv2d_bn_eval(x, w, Tensor(), Tensor(), Tensor(), rm, rv, 1e-5), Error);
  EXPECT_THROW(conv2d_bn_eval(x, w, Tensor(), uniform({2}, 24), Tensor(), rm.detach(), rv, 1e-5), Error);
}

TEST(ConvBnEval, CudaParity) {
  CSG_REQUIRE_CUDA();
  const Conv2dOptions o = strided_dilated_padded();
  Tensor rm = uniform({6}, 30), rv = positive({6}, 31);
  expect_cuda_parity([&](const Ins& in) { return conv2d_bn_eval(in[0], in[1], in[2], in[3], in[4], in[5], in[6], 1e-5, o); },
                     {uniform({2, 4, 9, 10}, 32).requires_grad_(), uniform({6, 4, 3, 3}, 33).requires_grad_(),
                      uniform({6}, 34).requires_grad_(), uniform({6}, 35).requires_grad_(),
                      uniform({6}, 36).requires_grad_(), rm, rv},
                     2e-4, 2e-4);
  // The convolution and its shift apart, added back the way add_relu adds them.
  expect_cuda_parity(
      [&](const Ins& in) {
        const ShiftedConv r = conv2d_bn_eval_apart(in[0], in[1], in[2], in[3], in[4], in[5], in[6], 1e-5, o);
        return add_relu(r.unshifted, in[7], r.shift);
      },
      {uniform({2, 4, 9, 10}, 32).requires_grad_(), uniform({6, 4, 3, 3}, 33).requires_grad_(),
       uniform({6}, 34).requires_grad_(), uniform({6}, 35).requires_grad_(), uniform({6}, 36).requires_grad_(), rm, rv,
       uniform({2, 6, 5, 10}, 37).requires_grad_()},
      2e-4, 2e-4);
}

namespace {

// The unfolded path, layer by layer: bn(conv(x)) with the modules' own forward.
Tensor conv_bn_apart(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Tensor& x) {
  return bn.forward(conv.forward(x));
}

Tensor resnet18_apart(const models::ResNet& net, const Tensor& x) {
  Tensor h = max_pool2d(relu(conv_bn_apart(*net.conv1, *net.bn1, x)), models::stem_max_pool(net.architecture().stem));
  for (const auto& layer : net.layers)
    for (const auto& item : layer->items()) {
      const auto& b = dynamic_cast<const models::BasicBlock&>(*item);
      Tensor out = relu(conv_bn_apart(*b.conv1, *b.bn1, h));
      out = conv_bn_apart(*b.conv2, *b.bn2, out);
      h = relu(add(out, b.down_conv ? conv_bn_apart(*b.down_conv, *b.down_bn, h) : h));
    }
  return net.fc->forward(global_avg_pool(h));
}

// Logits and every trained parameter's gradient of sum(g * logits).
std::map<std::string, Tensor> logits_and_grads(const models::ResNet& net, const Tensor& x, const Tensor& g,
                                               bool apart) {
  for (const NamedTensor& p : net.named_parameters()) Tensor(p.tensor).zero_grad();
  Tensor y = apart ? resnet18_apart(net, x) : net.forward(x);
  sum(mul(y, g)).backward();
  std::map<std::string, Tensor> out{{"logits", y.detach()}};
  for (const NamedTensor& p : net.named_parameters())
    if (p.tensor.requires_grad()) out[p.name] = p.tensor.grad();
  return out;
}

}  // namespace

// ResNet-18 in eval mode with gradients (CSG's training step): the folded blocks give the logits and
// parameter gradients of the layer-by-layer network, with BN trained (Eval) and frozen (DeepLab's
// backbone), within 1e-4 of each tensor's largest magnitude (f32, 18 layers of reordered rounding).
TEST(ConvBnEval, ResNet18FoldsItsBatchNormsWithoutChangingTheStep) {
  for (bool frozen_bn : {false, true}) {
    SCOPED_TRACE(frozen_bn ? "frozen BN" : "trained BN");
    models::ResNetOptions o;
    o.depth = 18, o.width = 8, o.num_classes = 5, o.seed = 3;
    models::ResNet net(o);
    csg::testing::randomise_batch_norm(net, 100);  // folding them is not the identity
    if (frozen_bn) net.freeze_batch_norm();
    net.eval();
    Tensor x = uniform({2, 3, 32, 32}, 40, DType::F32), g = uniform({2, 5}, 41, DType::F32);
    std::map<std::string, Tensor> folded = logits_and_grads(net, x, g, false), apart = logits_and_grads(net, x, g, true);
    ASSERT_EQ(folded.size(), apart.size());
    // The folded blocks round differently from the separate passes; equal logits would mean no fold ran.
    EXPECT_GT(csg::testing::max_abs_diff(folded.at("logits"), apart.at("logits")), 0.0);
    EXPECT_EQ(folded.count("bn1.weight"), frozen_bn ? 0u : 1u);
    for (const auto& [name, want] : apart) {
      ASSERT_TRUE(folded.at(name).defined()) << name;
      expect_close(folded.at(name), want, 0, 1e-4, Tolerance::ScaledByMax, name);
    }
    // Without gradients the blocks run unfolded: the same logits to the bit.
    NoGradGuard ng;
    EXPECT_EQ(csg::testing::max_abs_diff(net.forward(x), resnet18_apart(net, x)), 0.0);
  }
}

// models::conv_bn folds only where the output holds at least as many values as the weights: here a
// 16 -> 16 3x3 convolution (144 weights per output channel) on 8x8 (64 outputs per channel: apart,
// bit for bit bn(conv(x))) and on 16x16 (256: folded, equal within rounding).
TEST(ConvBnEval, FoldsOnlyWhereTheOutputOutweighsTheWeights) {
  Generator gen(5);
  nn::Conv2d conv(16, 16, 3, 1, 1, 1, false, gen);
  nn::BatchNorm2d bn(16);
  {
    NoGradGuard ng;
    Tensor(bn.weight).copy_(uniform({16}, 50, DType::F32, 0.5, 1.5));
    Tensor(bn.running_var).copy_(uniform({16}, 51, DType::F32, 0.5, 2.0));
  }
  bn.eval();
  for (int64_t size : {8, 16}) {
    SCOPED_TRACE(size);
    const Tensor x = uniform({1, 16, size, size}, 52, DType::F32);
    const Tensor got = models::conv_bn(conv, bn, x), want = bn.forward(conv.forward(x));
    if (size == 8) {
      EXPECT_EQ(csg::testing::max_abs_diff(got, want), 0.0) << "folded where the weights outnumber the output";
    } else {
      EXPECT_GT(csg::testing::max_abs_diff(got, want), 0.0) << "not folded";
      expect_close(got, want, 0, 1e-5, Tolerance::ScaledByMax, "folded");
    }
  }
}
