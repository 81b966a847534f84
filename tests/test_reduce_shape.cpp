// tests/test_reduce_shape.cpp — sum/mean/sum_to/argmax and the differentiable views + cat.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

TEST(Reduce, Values) {
  Tensor x = arange(24, {DType::F64}).reshape({2, 3, 4});
  EXPECT_EQ(sum(x).item(), 276);
  EXPECT_EQ(sum(x).dim(), 0);
  EXPECT_EQ(mean(x).item(), 11.5);
  Tensor s1 = sum(x, {1});
  EXPECT_EQ(s1.shape(), (Shape{2, 4}));
  EXPECT_EQ(s1.to_vector()[0], 0 + 4 + 8);
  Tensor m02 = mean(x, {0, 2}, true);
  EXPECT_EQ(m02.shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(m02.to_vector()[1], (4 + 5 + 6 + 7 + 16 + 17 + 18 + 19) / 8.0);
  EXPECT_EQ(sum(x, {-1}).shape(), (Shape{2, 3}));
  EXPECT_EQ(sum_to(x, {3, 1}).to_vector()[2], sum(x.slice(1, 2, 3)).item());
  EXPECT_THROW(sum(x, {3}), Error);
  EXPECT_THROW(sum(x, {1, 1}), Error);
}

TEST(Reduce, Gradients) {
  Tensor x = uniform({2, 3, 4}, 1).requires_grad_();
  expect_gradients_match([](const Ins& in) { return sum(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return mean(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return sum(in[0], {1}); }, {x});
  expect_gradients_match([](const Ins& in) { return mean(in[0], {0, 2}, true); }, {x});
  expect_gradients_match([](const Ins& in) { return sum_to(in[0], {3, 1}); }, {x});
}

TEST(Reduce, Argmax) {
  Tensor x = from_vector(std::vector<double>{1, 5, 5, 0, 9, -1}, {2, 3});
  EXPECT_EQ(argmax(x, 1).to_vector(), (std::vector<double>{1, 1}));  // first maximum wins
  EXPECT_EQ(argmax(x, 0).to_vector(), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(argmax(x, 1).dtype(), DType::I64);
}

// NaN counts as the largest value, the first one winning (torch.argmax), wherever it stands.
TEST(Reduce, ArgmaxTakesTheFirstNaN) {
  const double nan = std::nan("");
  Tensor x = from_vector(std::vector<double>{nan, 1, 2, 1, nan, nan, 3, 2, 1, -INFINITY, -INFINITY, -INFINITY},
                         {4, 3});
  EXPECT_EQ(argmax(x, 1).to_vector(), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(argmax(x.to(DType::F32), 1).to_vector(), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(argmax(x, 0).to_vector(), (std::vector<double>{0, 1, 1}));
}

TEST(Reduce, ArgmaxNaNCudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor y = uniform({64, 700}, 9, DType::F32);
  float* p = y.data<float>();
  for (int64_t r = 0; r < 64; r += 3) p[r * 700 + (r * 37) % 700] = NAN;  // one NaN in every third row
  for (int64_t c = 5; c < 700; c += 50) p[63 * 700 + c] = NAN;            // several in the last: the first wins
  EXPECT_EQ(csg::testing::max_abs_diff(argmax(y, 1), argmax(y.to(Device::CUDA), 1)), 0);
}

TEST(Shape, ViewGradients) {
  Tensor x = uniform({2, 3, 4}, 2).requires_grad_();
  expect_gradients_match([](const Ins& in) { return in[0].permute({2, 0, 1}); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0].reshape({4, 6}) * 2.0; }, {x});
  expect_gradients_match([](const Ins& in) { return in[0].slice(2, 1, 4, 2); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0].select(1, 2); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0].transpose(0, 2).contiguous(); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0].flatten(1).unsqueeze(0); }, {x});
  Tensor b = uniform({3, 1}, 3).requires_grad_();
  expect_gradients_match([](const Ins& in) { return in[0].expand({2, 3, 5}); }, {b});
  expect_gradients_match([](const Ins& in) { return in[0].clone() * in[0]; }, {b});
}

TEST(Shape, Cat) {
  Tensor a = uniform({2, 3}, 4).requires_grad_();
  Tensor b = uniform({2, 1}, 5).requires_grad_();
  Tensor c = uniform({2, 2}, 6).requires_grad_();
  Tensor y = cat({a, b, c}, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 6}));
  EXPECT_EQ(y.select(0, 1).select(0, 3).item(), b.select(0, 1).select(0, 0).item());
  expect_gradients_match([](const Ins& in) { return cat(in, 1); }, {a, b, c});
  expect_gradients_match([](const Ins& in) { return cat({in[0], in[0]}, 0); }, {a});
  EXPECT_THROW(cat({a, uniform({3, 3}, 7)}, 1), Error);
  EXPECT_THROW(cat({}, 0), Error);
}

TEST(ReduceShape, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({3, 70, 33}, 1).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return sum(in[0]); }, {x});
  expect_cuda_parity([](const Ins& in) { return mean(in[0], {0, 2}); }, {x});
  expect_cuda_parity([](const Ins& in) { return sum(in[0], {1}, true); }, {x});
  expect_cuda_parity([](const Ins& in) { return in[0].permute({2, 0, 1}).contiguous(); }, {x});
  expect_cuda_parity([](const Ins& in) { return in[0].slice(1, 3, 60, 4) * 2.0; }, {x});
  expect_cuda_parity([](const Ins& in) { return cat({in[0], in[0].slice(0, 1, 2)}, 0); }, {x});
  Tensor long_rows = uniform({2, 200003}, 3).requires_grad_();  // the two-pass path
  expect_cuda_parity([](const Ins& in) { return sum(in[0], {1}); }, {long_rows}, 1e-3, 1e-5);
  Tensor y = uniform({50, 1000}, 2, DType::F32);
  EXPECT_EQ(csg::testing::max_abs_diff(argmax(y, 1), argmax(y.to(Device::CUDA), 1)), 0);
}

// A sum over a long row (the parallel path, > 65,536 elements) is the same bit for bit on every
// call, and matches a sequential double sum to rounding.
TEST(Reduce, LongRowSumRepeatsBitForBit) {
  const Tensor x = csg::testing::uniform({1, 300001}, 5, DType::F32, -1.0, 1.0);
  const double first = sum(x).item();
  for (int k = 0; k < 20; ++k) ASSERT_EQ(sum(x).item(), first) << "repeat " << k;
  double want = 0;
  for (double v : x.to_vector()) want += v;
  EXPECT_NEAR(first, want, 1e-3);
}
