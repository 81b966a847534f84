// tests/test_dilated_conv_sum.cpp — dilated_conv_sum (DeepLabv2's ASPP classifier as one product):
// finite-difference gradients in double, the same values and gradients as the sum of its convolutions
// (taps that fall wholly outside the map included), CPU/CUDA parity, and the entry errors.
#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_close;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::Tolerance;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// The sum the op stands for, convolution by convolution.
Tensor sum_of_convolutions(const Tensor& x, const Ins& weights, const Ins& biases, const std::vector<int64_t>& d) {
  Tensor out;
  for (size_t b = 0; b < weights.size(); ++b) {
    Conv2dOptions opt;
    opt.pad_h = opt.pad_w = opt.dilation_h = opt.dilation_w = d[b];
    Tensor y = conv2d(x, weights[b], biases[b], opt);
    out = out.defined() ? add(out, y) : y;
  }
  return out;
}

TEST(DilatedConvSum, GradientsMatchFiniteDifferences) {
  // Dilation 4 on 7x6: the outer taps of many pixels, and every tap but the centre of some, fall outside.
  Tensor x = uniform({2, 3, 7, 6}, 301).requires_grad_();
  Tensor w0 = uniform({2, 3, 3, 3}, 302).requires_grad_(), w1 = uniform({2, 3, 3, 3}, 303).requires_grad_(),
         w2 = uniform({2, 3, 3, 3}, 304).requires_grad_();
  Tensor b0 = uniform({2}, 305).requires_grad_(), b2 = uniform({2}, 306).requires_grad_();
  expect_gradients_match(
      [](const Ins& in) { return dilated_conv_sum(in[0], {in[1], in[2], in[3]}, {in[4], Tensor(), in[5]}, {1, 2, 4}); },
      {x, w0, w1, w2, b0, b2});
}

TEST(DilatedConvSum, EqualsTheSumOfItsConvolutions) {
  // ASPP's rates, the largest beyond the map (its outer taps read only padding), two images.
  const std::vector<int64_t> rates = {1, 3, 6, 12};
  Tensor x = uniform({2, 16, 11, 10}, 311, DType::F32).requires_grad_();
  Ins weights, biases;
  for (int b = 0; b < 4; ++b) {
    weights.push_back(uniform({5, 16, 3, 3}, 312 + b, DType::F32).requires_grad_());
    biases.push_back(uniform({5}, 320 + b, DType::F32).requires_grad_());
  }
  const Tensor probe = uniform({2, 5, 11, 10}, 330, DType::F32);
  auto run = [&](bool as_product) {
    Ins leaves;
    for (const Tensor& t : Ins{x, weights[0], weights[1], weights[2], weights[3], biases[0], biases[1], biases[2],
                               biases[3]})
      leaves.push_back(t.detach().requires_grad_());
    const Ins w(leaves.begin() + 1, leaves.begin() + 5), b(leaves.begin() + 5, leaves.end());
    Tensor y = as_product ? dilated_conv_sum(leaves[0], w, b, rates) : sum_of_convolutions(leaves[0], w, b, rates);
    sum(mul(y, probe)).backward();
    Ins out = {y.detach()};
    for (const Tensor& l : leaves) out.push_back(l.grad());
    return out;
  };
  const Ins got = run(true), want = run(false);
  const char* names[] = {"output", "dx", "dw0", "dw1", "dw2", "dw3", "db0", "db1", "db2", "db3"};
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], 1e-5, 1e-5, Tolerance::ScaledByMax, names[i]);
}

TEST(DilatedConvSum, Errors) {
  Tensor x = uniform({1, 4, 6, 6}, 340);
  Tensor w = uniform({2, 4, 3, 3}, 341);
  EXPECT_THROW(dilated_conv_sum(x, {w}, {Tensor()}, {0}), Error);                     // dilation
  EXPECT_THROW(dilated_conv_sum(x, {w, w}, {Tensor()}, {1, 2}), Error);               // one bias short
  EXPECT_THROW(dilated_conv_sum(x, {uniform({2, 4, 1, 1}, 342)}, {Tensor()}, {1}), Error);  // not 3x3
  EXPECT_THROW(dilated_conv_sum(x, {uniform({2, 3, 3, 3}, 343)}, {Tensor()}, {1}), Error);  // C
  EXPECT_THROW(dilated_conv_sum(x, {w, uniform({3, 4, 3, 3}, 344)}, {Tensor(), Tensor()}, {1, 2}), Error);  // O
  EXPECT_THROW(dilated_conv_sum(x, {w}, {uniform({3}, 345)}, {1}), Error);            // bias size
  EXPECT_THROW(dilated_conv_sum(uniform({4, 6, 6}, 346), {w}, {Tensor()}, {1}), Error);  // not 4-D
}

TEST(DilatedConvSum, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({2, 8, 9, 10}, 350).requires_grad_();
  Tensor w0 = uniform({3, 8, 3, 3}, 351).requires_grad_(), w1 = uniform({3, 8, 3, 3}, 352).requires_grad_();
  Tensor b0 = uniform({3}, 353).requires_grad_(), b1 = uniform({3}, 354).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return dilated_conv_sum(in[0], {in[1], in[2]}, {in[3], in[4]}, {2, 6}); },
                     {x, w0, w1, b0, b1});
}

}  // namespace
