// tests/test_upsample.cpp — upsample_bilinear2d: values from PyTorch for both align_corners
// settings, up and down; exactness on linear images (an independent reference for the
// source-index arithmetic); gradients; CUDA parity at DeepLab's sizes; errors.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::expect_values_near;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

const std::vector<double> kInput = {0.5, -1.25, 2.0, 0.75, 3.0, 1.5, -0.5, -2.25, 1.0, 0.25, 4.0, -1.0};  // [1,1,3,4]

// f(h, w) = 2h - 3w + 1 sampled on an [1,1,H,W] grid.
Tensor linear_image(int64_t h, int64_t w) {
  std::vector<double> v;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) v.push_back(2.0 * i - 3.0 * j + 1);
  return from_vector(v, {1, 1, h, w});
}

}  // namespace

// Reference values: torch 1.13 (Debian python3-torch), float64,
// F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=ac) with x = kInput as [1,1,3,4].
TEST(Upsample, MatchesPyTorch) {
  Tensor x = from_vector(kInput, {1, 1, 3, 4});
  const std::vector<double> up_false = {
      0.5,   -0.125, -1.125, 0.375, 1.91071428571, 1.19642857143, 0.75,  1.5,   0.910714285714, -0.0321428571429,
      0.425, 0.896428571429, 0.0678571428571, -0.45, 3, 2.46428571429, 1.60714285714, 0.5, -0.625, -1.625, -2.25,
      1.8,   1.425,  0.825,  1.475, 1.93571428571, -0.178571428571, -1.5, 1, 0.732142857143, 0.303571428571, 2.125,
      3.64285714286, 0.785714285714, -1};
  const std::vector<double> down_false = {0.84375, 0.40625, 0.229166666667, 1.34375, 1.71875, -0.614583333333};
  const std::vector<double> up_true = {0.5,   -0.375, -1.25, 0.375, 2,      1.375,  0.75,  1.75,   0.9375,
                                       0.125, 0.4375, 0.75,  0,     -0.75,  3,      2.25,  1.5,    0.5,
                                       -0.5,  -1.375, -2.25, 2,     1.4375, 0.875,  1.3125, 1.75,  0.0625,
                                       -1.625, 1,     0.625, 0.25,  2.125,  4,      1.5,    -1};
  const std::vector<double> down_true = {0.5, 0.375, 0.75, 1, 2.125, -1};
  expect_values_near(upsample_bilinear2d(x, 5, 7, false), up_false, 1e-11);
  expect_values_near(upsample_bilinear2d(x, 2, 3, false), down_false, 1e-11);
  expect_values_near(upsample_bilinear2d(x, 5, 7, true), up_true, 1e-12);
  expect_values_near(upsample_bilinear2d(x, 2, 3, true), down_true, 1e-12);
  // float32: same taps, rounding differs from PyTorch's vectorised CPU loop in the last bits.
  Tensor xf = x.to(DType::F32);
  expect_values_near(upsample_bilinear2d(xf, 5, 7, false), up_false, 3e-6);
  expect_values_near(upsample_bilinear2d(xf, 2, 3, false), down_false, 3e-6);
  expect_values_near(upsample_bilinear2d(xf, 5, 7, true), up_true, 3e-6);
  expect_values_near(upsample_bilinear2d(xf, 2, 3, true), down_true, 3e-6);
  EXPECT_EQ(upsample_bilinear2d(xf, 5, 7, true).shape(), (Shape{1, 1, 5, 7}));
}

TEST(Upsample, ReproducesLinearImages) {
  // Bilinear interpolation is exact on a linear image, so the output is f at the source
  // coordinate: align_corners: src = dst*(in-1)/(out-1); otherwise (dst+0.5)*in/out - 0.5,
  // clamped to [0, in-1] (at the clamped borders both taps are the edge pixel).
  const int64_t in_h = 4, in_w = 5;
  Tensor x = linear_image(in_h, in_w);
  for (bool ac : {true, false})
    for (auto [oh, ow] : {std::pair<int64_t, int64_t>{9, 13}, {3, 2}, {4, 11}, {1, 1}}) {
      std::vector<double> y = upsample_bilinear2d(x, oh, ow, ac).to_vector();
      auto src = [&](int64_t d, int64_t in, int64_t out) {
        double s = ac ? (out > 1 ? d * double(in - 1) / (out - 1) : 0.0) : (d + 0.5) * double(in) / out - 0.5;
        return std::min(std::max(s, 0.0), double(in - 1));
      };
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          EXPECT_NEAR(y[i * ow + j], 2 * src(i, in_h, oh) - 3 * src(j, in_w, ow) + 1, 1e-12)
              << "align_corners " << ac << " size " << oh << "x" << ow << " at " << i << "," << j;
    }
}

TEST(Upsample, SameSizeIsIdentity) {
  Tensor x = uniform({2, 3, 4, 5}, 71);
  for (bool ac : {true, false})
    EXPECT_EQ(upsample_bilinear2d(x, 4, 5, ac).to_vector(), x.to_vector()) << "align_corners " << ac;
}

TEST(Upsample, Gradients) {
  Tensor x = uniform({2, 2, 3, 4}, 72).requires_grad_();
  for (bool ac : {true, false}) {
    expect_gradients_match([ac](const Ins& in) { return upsample_bilinear2d(in[0], 5, 7, ac); }, {x});  // up
    expect_gradients_match([ac](const Ins& in) { return upsample_bilinear2d(in[0], 2, 3, ac); }, {x});  // down
    expect_gradients_match([ac](const Ins& in) { return upsample_bilinear2d(in[0], 1, 6, ac); }, {x});  // mixed
  }
  // A non-contiguous input.
  expect_gradients_match([](const Ins& in) { return upsample_bilinear2d(in[0].transpose(2, 3), 6, 5, true); }, {x});
}

TEST(Upsample, Errors) {
  EXPECT_THROW(upsample_bilinear2d(uniform({2, 3, 4}, 73), 5, 5, true), Error);
  EXPECT_THROW(upsample_bilinear2d(uniform({1, 1, 2, 2}, 74), 0, 5, true), Error);
  EXPECT_THROW(upsample_bilinear2d(uniform({1, 1, 2, 2}, 74), 3, -1, false), Error);
  EXPECT_THROW(upsample_bilinear2d(zeros({1, 1, 2, 2}, {DType::I64}), 3, 3, false), Error);
  EXPECT_THROW(upsample_bilinear2d(zeros({1, 1, 0, 2}), 3, 3, false), Error);
}

TEST(Upsample, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({2, 3, 5, 6}, 75).requires_grad_();
  for (bool ac : {true, false})
    for (auto [oh, ow] : {std::pair<int64_t, int64_t>{11, 17}, {3, 4}, {1, 1}, {5, 6}, {2, 13}})
      expect_cuda_parity([ac, oh = oh, ow = ow](const Ins& in) { return upsample_bilinear2d(in[0], oh, ow, ac, /*deterministic=*/true); },
                         {x});
  // DeepLab: 65x65 logits to the 513x513 crop (align_corners=True), and a downsample.
  Tensor logits = uniform({1, 19, 65, 65}, 76).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return upsample_bilinear2d(in[0], 513, 513, true); }, {logits}, 1e-4, 1e-5);
  Tensor big = uniform({1, 2, 128, 256}, 77).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return upsample_bilinear2d(in[0], 1024, 2048, true); }, {big}, 1e-4, 1e-5);
  expect_cuda_parity([](const Ins& in) { return upsample_bilinear2d(in[0], 37, 50, false); }, {big});
  EXPECT_THROW(upsample_bilinear2d(uniform({1, 1, 2, 2}, 78).to(Device::CUDA), 3, 3, true), Error);  // f64 on CUDA
}

// Deterministic mode: the gather-based backward agrees with the CPU and gives the same bits
// run after run (the atomicAdd scatter adds in thread order).
TEST(Upsample, CudaDeterministicBackward) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({2, 3, 5, 6}, 75).requires_grad_();
  for (bool ac : {true, false})
    for (auto [oh, ow] : {std::pair<int64_t, int64_t>{11, 17}, {3, 4}, {1, 1}, {5, 6}, {2, 13}, {40, 3}})
      expect_cuda_parity([ac, oh = oh, ow = ow](const Ins& in) { return upsample_bilinear2d(in[0], oh, ow, ac); },
                         {x}, 1e-5, 1e-5, csg::testing::Tolerance::PerElement);
  Tensor logits = uniform({1, 19, 65, 65}, 76, DType::F32).to(Device::CUDA).requires_grad_();
  Tensor w = uniform({1, 19, 513, 513}, 79, DType::F32).to(Device::CUDA);
  auto grad_once = [&] {
    logits.zero_grad();
    sum(mul(upsample_bilinear2d(logits, 513, 513, true, /*deterministic=*/true), w)).backward();
    return logits.grad().to(Device::CPU);
  };
  const Tensor g1 = grad_once(), g2 = grad_once();
  EXPECT_EQ(csg::testing::max_abs_diff(g1, g2), 0);
}
