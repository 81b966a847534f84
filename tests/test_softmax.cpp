// tests/test_softmax.cpp — softmax / log_softmax along every dim: values against a naive
// reference, stability on large logits, finite-difference gradients, CUDA parity, errors.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::expect_values_near;
using csg::testing::max_abs_diff;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// Softmax of a 3-D tensor along `dim`, lane by lane, with the max subtracted first.
std::vector<double> naive_softmax(const Tensor& x, int dim, bool log_output) {
  return csg::testing::map_lanes(x, dim, [log_output](const std::vector<double>& lane) {
    double mx = -INFINITY, sum = 0;
    for (double v : lane) mx = std::max(mx, v);
    for (double v : lane) sum += std::exp(v - mx);
    std::vector<double> out;
    for (double v : lane) out.push_back(log_output ? v - mx - std::log(sum) : std::exp(v - mx) / sum);
    return out;
  });
}

}  // namespace

TEST(Softmax, MatchesNaiveReferenceAlongEveryDim) {
  Tensor x = uniform({3, 4, 5}, 11, DType::F64, -4, 4);
  for (int dim = 0; dim < 3; ++dim) {
    expect_values_near(softmax(x, dim).to_vector(), naive_softmax(x, dim, false), 1e-14);
    expect_values_near(softmax(x.to(DType::F32), dim).to_vector(), naive_softmax(x, dim, false), 1e-6);
  }
  expect_values_near(softmax(x, -1).to_vector(), naive_softmax(x, 2, false), 1e-14);
  // Each lane sums to one.
  std::vector<double> s = sum(softmax(x, 1), {1}).to_vector();
  for (double v : s) EXPECT_NEAR(v, 1.0, 1e-14);
}

TEST(LogSoftmax, MatchesNaiveReferenceAlongEveryDim) {
  Tensor x = uniform({3, 4, 5}, 12, DType::F64, -4, 4);
  for (int dim = 0; dim < 3; ++dim) {
    expect_values_near(log_softmax(x, dim).to_vector(), naive_softmax(x, dim, true), 1e-13);
    expect_values_near(log_softmax(x.to(DType::F32), dim).to_vector(), naive_softmax(x, dim, true), 1e-5);
  }
  expect_values_near(log_softmax(x, -2).to_vector(), naive_softmax(x, 1, true), 1e-13);
}

TEST(Softmax, StableForLargeLogits) {
  // exp(1000) overflows; the max-subtracted form does not.
  Tensor x = from_vector(std::vector<float>{1000.f, 1001.f, -1000.f}, {1, 3});
  std::vector<double> y = softmax(x, 1).to_vector();
  const double e = std::exp(1.0);
  EXPECT_NEAR(y[0], 1 / (1 + e), 1e-6);
  EXPECT_NEAR(y[1], e / (1 + e), 1e-6);
  EXPECT_EQ(y[2], 0.0);
  std::vector<double> ly = log_softmax(x, 1).to_vector();
  EXPECT_NEAR(ly[0], -std::log1p(e), 1e-4);
  EXPECT_NEAR(ly[2], -2001 - std::log1p(std::exp(-1.0)), 1e-2);
  // A masked (-inf) logit gets probability 0, not NaN.
  Tensor m = from_vector(std::vector<double>{-INFINITY, 0.0, 0.0}, {3});
  EXPECT_EQ(softmax(m, 0).to_vector(), (std::vector<double>{0.0, 0.5, 0.5}));
}

TEST(Softmax, LongFloatRowMatchesDouble) {
  Tensor x = uniform({2, 65537}, 13, DType::F64, -10, 10);
  EXPECT_LT(max_abs_diff(softmax(x.to(DType::F32), 1), softmax(x, 1)), 1e-9);
  EXPECT_LT(max_abs_diff(log_softmax(x.to(DType::F32), 1), log_softmax(x, 1)), 2e-5);
}

TEST(Softmax, Gradients) {
  Tensor x = uniform({3, 4, 5}, 14, DType::F64, -2, 2).requires_grad_();
  for (int dim : {0, 1, 2})
    expect_gradients_match([dim](const Ins& in) { return softmax(in[0], dim); }, {x});
  // A non-contiguous input (the op copies it) and a chained use.
  expect_gradients_match([](const Ins& in) { return softmax(in[0].permute({2, 0, 1}), 1); }, {x});
  expect_gradients_match([](const Ins& in) { return softmax(in[0], -1) * in[0]; }, {x});
}

TEST(LogSoftmax, Gradients) {
  Tensor x = uniform({3, 4, 5}, 15, DType::F64, -2, 2).requires_grad_();
  for (int dim : {0, 1, 2})
    expect_gradients_match([dim](const Ins& in) { return log_softmax(in[0], dim); }, {x});
  expect_gradients_match([](const Ins& in) { return log_softmax(in[0].transpose(0, 2), 0); }, {x});
}

TEST(Softmax, ScalarAndNoGrad) {
  Tensor s = from_vector(std::vector<double>{3.0}, {});
  EXPECT_EQ(softmax(s, 0).item(), 1.0);
  EXPECT_EQ(log_softmax(s, 0).item(), 0.0);
  Tensor x = uniform({2, 3}, 16);
  EXPECT_FALSE(softmax(x, 1).requires_grad());
}

TEST(Softmax, Errors) {
  Tensor x = uniform({2, 3}, 17);
  EXPECT_THROW(softmax(x, 2), Error);
  EXPECT_THROW(log_softmax(x, -3), Error);
  EXPECT_THROW(softmax(from_vector(std::vector<int64_t>{1, 2}, {2}), 0), Error);
  EXPECT_THROW(softmax(Tensor(), 0), Error);
}

TEST(Softmax, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({3, 4, 5}, 18, DType::F64, -3, 3).requires_grad_();
  for (int dim : {0, 1, 2}) {
    expect_cuda_parity([dim](const Ins& in) { return softmax(in[0], dim); }, {x});
    expect_cuda_parity([dim](const Ins& in) { return log_softmax(in[0], dim); }, {x});
  }
  // Segmentation logits (class dim in the middle, long inner) and InfoNCE rows (65537 wide).
  Tensor seg = uniform({2, 19, 33, 17}, 19, DType::F64, -5, 5).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return log_softmax(in[0], 1); }, {seg});
  expect_cuda_parity([](const Ins& in) { return softmax(in[0], 1); }, {seg});
  Tensor wide = uniform({3, 65537}, 20, DType::F64, -8, 8).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return softmax(in[0], 1); }, {wide}, 1e-6, 1e-4);
  expect_cuda_parity([](const Ins& in) { return log_softmax(in[0], 1); }, {wide}, 1e-4, 1e-5);
  // Many short rows (grid-stride over rows past the grid limit).
  Tensor many = uniform({70000, 3}, 21, DType::F64).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return log_softmax(in[0], -1); }, {many});
  EXPECT_THROW(softmax(uniform({2, 3}, 22).to(Device::CUDA), 1), Error);  // f64 on CUDA
}
