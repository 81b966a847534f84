// tests/test_elementwise.cpp — binary ops with broadcasting and the unary ops.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

TEST(Elementwise, BroadcastForwardValues) {
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector(std::vector<double>{10, 20, 30}, {3});
  EXPECT_EQ(add(a, b).to_vector(), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  Tensor c = from_vector(std::vector<double>{2, 4}, {2, 1});
  EXPECT_EQ(div(a, c).to_vector(), (std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5}));
  EXPECT_EQ(sub(b, a).to_vector(), (std::vector<double>{9, 18, 27, 6, 15, 24}));
  EXPECT_EQ(relu(from_vector(std::vector<double>{-1, 0, 2}, {3})).to_vector(), (std::vector<double>{0, 0, 2}));
  EXPECT_THROW(add(a, from_vector(std::vector<double>{1, 2}, {2})), Error);
}

TEST(Elementwise, BinaryGradientsWithBroadcasting) {
  Tensor a = uniform({2, 3, 4}, 1).requires_grad_();
  Tensor b = uniform({3, 1}, 2, DType::F64, 0.5, 1.5).requires_grad_();  // away from 0 for div
  expect_gradients_match([](const Ins& in) { return add(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return sub(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return mul(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return div(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return div(in[1], in[0] + 3.0); }, {a, b});
}

TEST(Elementwise, UnaryGradients) {
  Tensor x = uniform({3, 5}, 3).requires_grad_();
  Tensor pos = uniform({3, 5}, 4, DType::F64, 0.2, 2.0).requires_grad_();
  expect_gradients_match([](const Ins& in) { return neg(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return exp(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return square(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0] * 2.5 + 1.0; }, {x});
  expect_gradients_match([](const Ins& in) { return log(in[0]); }, {pos});
  expect_gradients_match([](const Ins& in) { return sqrt(in[0]); }, {pos});
  // relu: keep inputs away from the kink at 0.
  Tensor r = from_vector(std::vector<double>{-1.5, -0.3, 0.4, 1.2, -2.0, 0.9}, {2, 3}).requires_grad_();
  expect_gradients_match([](const Ins& in) { return relu(in[0]); }, {r});
}

TEST(Elementwise, ReluGradientIsZeroAtZero) {
  Tensor x = zeros({3}, {DType::F64}).requires_grad_();
  sum(relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0, 0}));
}

TEST(Elementwise, NonContiguousInputs) {
  Tensor a = uniform({4, 3}, 5).requires_grad_();
  Tensor b = uniform({3, 4}, 6).requires_grad_();
  expect_gradients_match([](const Ins& in) { return mul(in[0].transpose(0, 1), in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return exp(in[0].slice(0, 1, 4, 2)); }, {a});
}

TEST(Elementwise, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor a = uniform({2, 3, 4}, 1).requires_grad_();
  Tensor b = uniform({3, 1}, 2, DType::F64, 0.5, 1.5).requires_grad_();
  Tensor pos = uniform({2, 3, 4}, 4, DType::F64, 0.2, 2.0).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return add(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return sub(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return mul(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return div(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return mul(in[0].transpose(1, 2), 3.0); }, {a});
  expect_cuda_parity([](const Ins& in) { return neg(in[0]) + 2.0; }, {a});
  expect_cuda_parity([](const Ins& in) { return exp(in[0]); }, {a});
  expect_cuda_parity([](const Ins& in) { return log(in[0]); }, {pos});
  expect_cuda_parity([](const Ins& in) { return sqrt(in[0]); }, {pos});
  expect_cuda_parity([](const Ins& in) { return square(in[0]); }, {a});
  expect_cuda_parity([](const Ins& in) { return relu(in[0]); }, {a});
}
