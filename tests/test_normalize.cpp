// tests/test_normalize.cpp — l2_normalize: hand values, the eps-clamped branch (value and
// gradient), a naive reference along every dim, gradients, CUDA parity and errors.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// x / max(||lane||, eps) for a 3-D tensor, each element dividing by the norm of its lane.
std::vector<double> naive_l2_normalize(const Tensor& x, int dim, double eps) {
  return csg::testing::map_lanes(x, dim, [eps](const std::vector<double>& lane) {
    double ss = 0;
    for (double v : lane) ss += v * v;
    std::vector<double> out;
    for (double v : lane) out.push_back(v / std::max(std::sqrt(ss), eps));
    return out;
  });
}

}  // namespace

TEST(L2Normalize, HandValues) {
  Tensor x = from_vector(std::vector<double>{3, 4, 0, 0, 1e-13, 0}, {3, 2});
  // Row 0: norm 5. Row 1: all zeros stays zero. Row 2: norm 1e-13 < eps, divided by eps.
  std::vector<double> y = l2_normalize(x, 1).to_vector();
  EXPECT_DOUBLE_EQ(y[0], 0.6);
  EXPECT_DOUBLE_EQ(y[1], 0.8);
  EXPECT_EQ(y[2], 0.0);
  EXPECT_EQ(y[3], 0.0);
  EXPECT_NEAR(y[4], 0.1, 1e-15);
  EXPECT_EQ(y[5], 0.0);
  // Along dim 0: columns [3,0,1e-13] and [4,0,0].
  std::vector<double> y0 = l2_normalize(x, 0).to_vector();
  EXPECT_NEAR(y0[0], 1.0, 1e-15);
  EXPECT_NEAR(y0[1], 1.0, 1e-15);
  EXPECT_NEAR(y0[4], 1e-13 / 3, 1e-25);
  std::vector<double> yf = l2_normalize(x.to(DType::F32), 1).to_vector();
  EXPECT_NEAR(yf[0], 0.6, 1e-7);
  EXPECT_EQ(yf[2], 0.0);
}

TEST(L2Normalize, MatchesNaiveReference) {
  Tensor x = uniform({3, 4, 5}, 61, DType::F64, -2, 2);
  for (int dim = 0; dim < 3; ++dim) {
    std::vector<double> ref = naive_l2_normalize(x, dim, 1e-12), y = l2_normalize(x, dim).to_vector();
    std::vector<double> yf = l2_normalize(x.to(DType::F32), dim).to_vector();
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_NEAR(y[i], ref[i], 1e-15);
      EXPECT_NEAR(yf[i], ref[i], 1e-6);
    }
  }
  std::vector<double> ref = naive_l2_normalize(x, 2, 0.7), y = l2_normalize(x, -1, 0.7).to_vector();
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-15);
}

TEST(L2Normalize, Gradients) {
  Tensor x = uniform({4, 5}, 62, DType::F64, -1, 1).requires_grad_();
  expect_gradients_match([](const Ins& in) { return l2_normalize(in[0], 0); }, {x});
  expect_gradients_match([](const Ins& in) { return l2_normalize(in[0], 1); }, {x});
  Tensor x3 = uniform({3, 4, 2}, 63, DType::F64, -1, 1).requires_grad_();
  expect_gradients_match([](const Ins& in) { return l2_normalize(in[0], 1); }, {x3});
  expect_gradients_match([](const Ins& in) { return l2_normalize(in[0].permute({2, 0, 1}), 2); }, {x3});
}

TEST(L2Normalize, ClampedBranchGradient) {
  // eps = 0.5: row 0 (norm ~0.14) and the zero row 1 are clamped (gradient g / eps), row 2
  // (norm ~1.4) goes through the norm. Finite differences stay within each branch.
  Tensor x = from_vector(std::vector<double>{0.1, -0.1, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.2}, {3, 3}).requires_grad_();
  expect_gradients_match([](const Ins& in) { return l2_normalize(in[0], 1, 0.5); }, {x});
  x.zero_grad();
  sum(l2_normalize(x, 1, 0.5)).backward();
  std::vector<double> g = x.grad().to_vector();
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(g[i], 2.0);  // d(x / 0.5) / dx
  std::vector<double> y = l2_normalize(x.detach(), 1, 0.5).to_vector();
  EXPECT_DOUBLE_EQ(y[0], 0.2);
  EXPECT_EQ(y[3], 0.0);
}

TEST(L2Normalize, Errors) {
  Tensor x = uniform({2, 3}, 64);
  EXPECT_THROW(l2_normalize(x, 2), Error);
  EXPECT_THROW(l2_normalize(x, 1, -1.0), Error);
  EXPECT_THROW(l2_normalize(zeros({2, 3}, {DType::I64}), 1), Error);
}

TEST(L2Normalize, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor feats = uniform({16, 128}, 65, DType::F64, -1, 1).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return l2_normalize(in[0], 1); }, {feats});
  expect_cuda_parity([](const Ins& in) { return l2_normalize(in[0], 0); }, {feats});
  Tensor x3 = uniform({3, 7, 40}, 66, DType::F64, -1, 1).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return l2_normalize(in[0], 1); }, {x3});
  // A zero row and a tiny row take the clamped branch on both devices.
  Tensor clamped = from_vector(std::vector<double>{0.1, -0.1, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.2}, {3, 3});
  clamped.requires_grad_();
  expect_cuda_parity([](const Ins& in) { return l2_normalize(in[0], 1, 0.5); }, {clamped});
  expect_cuda_parity([](const Ins& in) { return l2_normalize(in[0], 0, 0.5); }, {clamped});
  EXPECT_THROW(l2_normalize(uniform({2, 3}, 67).to(Device::CUDA), 1), Error);  // f64 on CUDA
}
