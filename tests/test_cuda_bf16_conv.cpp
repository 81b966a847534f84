// tests/test_cuda_bf16_conv.cpp — BF16 mixed precision of the CUDA convolutions
// (`--precision bf16 --device cuda`, kernels/conv2d.cu): the numerics a run's Config gives
// (src/train/network.h), then forward, backward-data and backward-filter on the GPU against
// CPU references. The GPU tests skip without a GPU of compute capability 8.0 or later.
//
// What BF16 mode computes: y = bf16(conv(bf16(x), bf16(w))) + b, dx = bf16(conv_t(bf16(dy), bf16(w))),
// dw = bf16(sum over the batch of bf16(x) * bf16(dy)), each accumulated in f32 (bf16() rounds to
// the nearest BF16, kernels/bf16.h); db = sum of dy, in f32. Tolerances (first-run bounds, no GPU
// has run these yet):
//  * against a double-precision CPU convolution of the rounded operands: max|gpu - ref| <= 1e-2 *
//    max|ref| (the result itself is rounded to BF16, 2^-9 relative, and cuDNN's algorithms sum in
//    their own order); db to 1e-5;
//  * against oneDNN's bf16 path (operands rounded the same way, result not rounded): 1e-2 of max;
//  * rounded operands, seen through cancellation: on inputs that are small integers plus
//    perturbations below half a BF16 ulp, conv(bf16(x), bf16(w)) is an integer result that BF16
//    holds exactly, while conv(x, w) is off by the perturbations' sums; the GPU's mean distance to
//    the first must be under a quarter of its mean distance to the second.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "csg/cuda.h"
#include "tests/conv_cases.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::bf16_numerics;
using csg::testing::conv_operands;
using csg::testing::conv_options;
using csg::testing::conv_run;
using csg::testing::ConvCase;
using csg::testing::ConvOperands;
using csg::testing::expect_close;
using csg::testing::max_abs;
using csg::testing::max_abs_diff;
using csg::testing::Tolerance;

namespace {

// BF16 convolutions on the GPU need one of compute capability 8.0 or later: skip (saying why)
// on an older one.
#define CSG_REQUIRE_CUDA_BF16()                                                 \
  do {                                                                          \
    CSG_REQUIRE_CUDA();                                                         \
    std::string why_;                                                           \
    if (!cuda::has_bf16_convolutions(&why_)) GTEST_SKIP() << why_;              \
  } while (0)

// ResNet's stem and a downsampling 1x1, a padded 3x3, DeepLab's dilated 3x3 with bias, and odd
// sizes with a stride of 3.
std::vector<ConvCase> conv_cases() {
  return {
      {"7x7 stride2 pad3 stem", {2, 3, 33, 31}, {16, 3, 7, 7}, 2, 3, 1, false},
      {"3x3 pad1 64ch", {2, 64, 14, 14}, {64, 64, 3, 3}, 1, 1, 1, true},
      {"1x1 stride2 downsample", {2, 32, 14, 14}, {48, 32, 1, 1}, 2, 0, 1, false},
      {"3x3 dilation4 pad4 with bias", {1, 16, 16, 15}, {32, 16, 3, 3}, 1, 4, 4, true},
      {"5x5 stride3 odd with bias", {3, 5, 11, 10}, {4, 5, 5, 5}, 3, 1, 1, true},
  };
}

// Each element rounded to the nearest BF16 (kernels/bf16.h), as a double tensor.
Tensor bf16_rounded(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  for (double& e : v) e = round_to_bf16(static_cast<float>(e));
  return from_vector(v, t.shape());
}

// The double-precision CPU results on the rounded operands; the bias and db use the f32 values,
// as the GPU does.
std::vector<Tensor> rounded_operand_reference(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b,
                                              const Tensor& dy) {
  std::vector<Tensor> r = conv_run(c, bf16_rounded(x), bf16_rounded(w),
                                   b.defined() ? b.to(DType::F64) : Tensor(), bf16_rounded(dy));
  if (b.defined()) r[3] = sum(dy.to(DType::F64), {0, 2, 3});
  return r;
}

const char* kNames[] = {"output", "input gradient", "weight gradient", "bias gradient"};

}  // namespace

// ---- the switch (runs everywhere) ------------------------------------------------------------

// BF16 on CUDA where there is no usable GPU: the run's numerics are refused with an error that
// names the device's state, before anything runs; f32 on CUDA needs nothing.
TEST(ConvolutionPrecision, Bf16OnCudaWithoutAGpuSaysWhy) {
  if (cuda::available()) GTEST_SKIP() << "a GPU is here: " << cuda::status();
  std::string why;
  EXPECT_FALSE(cuda::has_bf16_convolutions(&why));
  EXPECT_EQ(why, cuda::status());
  EXPECT_FALSE(has_bf16_convolutions(Device::CUDA, nullptr));
  train::Config cfg;
  cfg.device = "cuda";
  cfg.precision = train::Precision::Bf16;
  try {
    train::conv_numerics(cfg, Device::CUDA, /*training=*/true);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--precision bf16 on CUDA"), std::string::npos) << msg;
    EXPECT_NE(msg.find(cuda::status()), std::string::npos) << msg;
  }
  cfg.precision = train::Precision::F32;
  EXPECT_EQ(train::conv_numerics(cfg, Device::CUDA, /*training=*/true).precision, ConvPrecision::F32);
}

// A run's numerics come from its Config: BF16 for a training run with --precision bf16 (on a device
// that can), f32 outside one; --deterministic and --tf32 carried as they are.
TEST(ConvolutionPrecision, NumericsFollowTheConfig) {
  train::Config cfg;
  cfg.deterministic = true;
  cfg.tf32 = false;
  const ConvNumerics f32 = train::conv_numerics(cfg, Device::CPU, /*training=*/true);
  EXPECT_EQ(f32.precision, ConvPrecision::F32);
  EXPECT_TRUE(f32.deterministic);
  EXPECT_FALSE(f32.tf32);
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  cfg.precision = train::Precision::Bf16;
  EXPECT_EQ(train::conv_numerics(cfg, Device::CPU, /*training=*/true).precision, ConvPrecision::Bf16);
  EXPECT_EQ(train::conv_numerics(cfg, Device::CPU, /*training=*/false).precision, ConvPrecision::F32)
      << "evaluation alone";
  EXPECT_THROW(train::parse_precision("fp16"), Error) << "a word --precision does not know";
}

// --deterministic reaches DeepLab's upsamplings with the numerics (their CUDA backward then gathers
// in a fixed order): the network sets it on the DeepLab it trains, and only when asked.
TEST(ConvolutionPrecision, DeterministicNumericsReachDeepLabsUpsampling) {
  train::Config cfg = csg::testing::tiny_gta5_config("unused");
  for (const bool deterministic : {false, true}) {
    ConvNumerics n;
    n.deterministic = deterministic;
    const train::CsgNetwork net(cfg, n);
    auto deeplab = std::dynamic_pointer_cast<models::DeepLab>(net.encoder_q);
    ASSERT_TRUE(deeplab);
    EXPECT_EQ(deeplab->deterministic_upsampling(), deterministic);
  }
}

// ---- the GPU ------------------------------------------------------------------------------------

// Every direction against the CPU on the rounded operands, and unlike the GPU's own f32 mode.
TEST(CudaBf16Conv2d, MatchesTheCpuOnRoundedOperands) {
  CSG_REQUIRE_CUDA_BF16();
  ConvNumerics f32;
  f32.tf32 = false;  // the f32 run below computes in f32
  uint64_t seed = 1100;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    const std::vector<Tensor> gpu = conv_run(c, o.x, o.w, o.b, o.dy, Device::CUDA, bf16_numerics());
    const std::vector<Tensor> gpu_f32 = conv_run(c, o.x, o.w, o.b, o.dy, Device::CUDA, f32);
    const std::vector<Tensor> ref = rounded_operand_reference(c, o.x, o.w, o.b, o.dy);
    for (int i = 0; i < (c.bias ? 4 : 3); ++i) {
      expect_close(gpu[i], ref[i], 0, i == 3 ? 1e-5 : 1e-2, Tolerance::ScaledByMax, kNames[i]);
      if (i < 3) {
        EXPECT_GT(max_abs_diff(gpu[i], gpu_f32[i]), 1e-6 * max_abs(gpu_f32[i]))
            << kNames[i] << ": equal to the f32 mode's, the BF16 kernels did not run";
      }
    }
  }
}

// The same convolutions as the CPU's BF16 path (oneDNN), where the CPU has BF16 instructions.
TEST(CudaBf16Conv2d, MatchesOneDnnBf16) {
  CSG_REQUIRE_CUDA_BF16();
  std::string why;
  if (!onednn::has_bf16(&why) || !onednn::active()) GTEST_SKIP() << (why.empty() ? "oneDNN is off" : why);
  uint64_t seed = 1300;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    const std::vector<Tensor> cpu = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16_numerics());
    const std::vector<Tensor> gpu = conv_run(c, o.x, o.w, o.b, o.dy, Device::CUDA, bf16_numerics());
    for (int i = 0; i < (c.bias ? 4 : 3); ++i)
      expect_close(gpu[i], cpu[i], 0, 1e-2, Tolerance::ScaledByMax, kNames[i]);
  }
}

// The operands are rounded before the products, not after: small integers plus perturbations
// below half a BF16 ulp (so bf16(x) is the integer), with signs mixed so that sums cancel and the
// perturbations' sums show in the f32 results.
TEST(CudaBf16Conv2d, ReadsOperandsRoundedToBf16) {
  CSG_REQUIRE_CUDA_BF16();
  const ConvCase c{"3x3 pad1 stride2 dilation2", {2, 4, 12, 12}, {4, 4, 3, 3}, 2, 2, 2, false};
  std::mt19937 rng(77);
  // Values in {-1, 0, 1}; a nonzero one moved by k * 2^-12, |k| <= 7: under half the BF16 ulp
  // next to 1 (2^-9 below it, 2^-8 above).
  auto perturbed_integers = [&](const Shape& shape) {
    std::vector<float> v(shape_numel(shape));
    for (float& e : v) {
      const int a = static_cast<int>(rng() % 3) - 1;
      const int k = static_cast<int>(rng() % 15) - 7;
      e = a == 0 ? 0.f : static_cast<float>(a + k * std::ldexp(1.0, -12));
    }
    return from_vector(v, shape);
  };
  const Tensor x = perturbed_integers(c.x), w = perturbed_integers(c.w);
  const Tensor dy = perturbed_integers(conv2d(x, w, Tensor(), conv_options(c)).shape());
  const std::vector<Tensor> gpu = conv_run(c, x, w, Tensor(), dy, Device::CUDA, bf16_numerics());
  const std::vector<Tensor> rounded = rounded_operand_reference(c, x, w, Tensor(), dy);
  const std::vector<Tensor> exact = conv_run(c, x.to(DType::F64), w.to(DType::F64), Tensor(),
                                             dy.to(DType::F64));
  auto mean_abs_diff = [](const Tensor& a, const Tensor& b) {
    const std::vector<double> u = a.to_vector(), v = b.to_vector();
    double s = 0;
    for (size_t i = 0; i < u.size(); ++i) s += std::fabs(u[i] - v[i]);
    return s / static_cast<double>(u.size());
  };
  for (int i = 0; i < 3; ++i) {
    const double to_rounded = mean_abs_diff(gpu[i], rounded[i]), to_exact = mean_abs_diff(gpu[i], exact[i]);
    EXPECT_GT(mean_abs_diff(rounded[i], exact[i]), 1e-4) << kNames[i] << ": the test's inputs show no rounding";
    EXPECT_LT(to_rounded, 0.25 * to_exact) << kNames[i] << ": mean distance to conv(bf16(x), bf16(w)) "
                                           << to_rounded << ", to conv(x, w) " << to_exact;
  }
}
