// tests/test_onednn.cpp — the oneDNN path of the f32 CPU ops (conv2d, the GEMM of matmul and
// linear) against the im2col + OpenBLAS path (itself checked against naive loops and finite
// differences in double): the same inputs through both, forward and every gradient. oneDNN sums in another order (and in blocked
// layouts), so results agree to f32 rounding, not bit for bit: per element
//   |onednn - plain| <= 1e-5 * max|plain| + 1e-4 * |plain|.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <tuple>

#include "tests/conv_cases.h"
#include "tests/testing.h"
#include "tools/bench/csg_step_bench.h"

using namespace csg;
using csg::testing::bf16_numerics;
using csg::testing::conv_operands;
using csg::testing::conv_options;
using csg::testing::conv_run;
using csg::testing::ConvCase;
using csg::testing::ConvOperands;
using csg::testing::uniform;

namespace {

#define CSG_REQUIRE_ONEDNN()                                                                          \
  do {                                                                                                \
    if (!::csg::onednn::active()) GTEST_SKIP() << "this csg was built without oneDNN (make DNNL=0)"; \
  } while (0)

// Every element of `got` within the tolerance above of `want`; a failure names the element.
void expect_close(const Tensor& got, const Tensor& want, const char* what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> g = got.to_vector(), w = want.to_vector();
  const double atol = 1e-5 * std::max(csg::testing::max_abs(want), 1e-30);
  int64_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::fabs(g[i] - w[i]) <= atol + 1e-4 * std::fabs(w[i])) && bad++ < 3)
      ADD_FAILURE() << what << ": element " << i << " oneDNN " << g[i] << " vs im2col " << w[i];
  EXPECT_EQ(bad, 0) << what << ": elements out of tolerance";
}

// The model's geometries (ResNet stem and stages, DeepLab's dilated layers and ASPP) plus odd
// sizes, batch 1, channel counts that are not multiples of the 16-lane blocks.
std::vector<ConvCase> conv_cases() {
  return {
      {"7x7 stride2 stem", {2, 3, 33, 31}, {16, 3, 7, 7}, 2, 3, 1, false},
      {"3x3 pad1 64ch (Winograd where oneDNN has it)", {2, 64, 14, 14}, {64, 64, 3, 3}, 1, 1, 1, false},
      {"3x3 pad1 12x13 with bias (Winograd, partial tiles)", {1, 32, 12, 13}, {48, 32, 3, 3}, 1, 1, 1, true},
      {"3x3 pad1 20->12 channels (Winograd, partial channel blocks)", {2, 20, 13, 12}, {12, 20, 3, 3}, 1, 1, 1, true},
      {"3x3 pad1 28x28 (Winograd, csg's on 4x4 tiles)", {2, 16, 28, 28}, {24, 16, 3, 3}, 1, 1, 1, true},
      {"3x3 pad1 7x7 batch 4 (csg's Winograd where oneDNN has none)", {4, 24, 7, 7}, {32, 24, 3, 3}, 1, 1, 1, true},
      {"3x3 stride2 odd size", {3, 24, 15, 13}, {40, 24, 3, 3}, 2, 1, 1, false},
      {"1x1 stride2 downsample", {2, 32, 14, 14}, {48, 32, 1, 1}, 2, 0, 1, false},
      {"1x1 stride1 batch1", {1, 20, 9, 11}, {36, 20, 1, 1}, 1, 0, 1, true},
      {"1x1 stride1 on 28x29 as matrix products, bias", {3, 20, 28, 29}, {36, 20, 1, 1}, 1, 0, 1, true},
      {"3x3 dilation2", {2, 16, 17, 17}, {16, 16, 3, 3}, 1, 2, 2, false},
      {"3x3 dilation2 over its phases, odd sizes", {2, 32, 25, 27}, {32, 32, 3, 3}, 1, 2, 2, false},
      {"3x3 dilation4 over its phases, bias", {1, 16, 48, 50}, {32, 16, 3, 3}, 1, 4, 4, true},
      {"3x3 dilation4 batch1", {1, 16, 16, 15}, {32, 16, 3, 3}, 1, 4, 4, false},
      {"3x3 dilation6 ASPP with bias", {2, 32, 9, 9}, {5, 32, 3, 3}, 1, 6, 6, true},
      {"5x5 stride3 odd", {2, 3, 11, 10}, {4, 3, 5, 5}, 3, 1, 1, true},
  };
}

}  // namespace

TEST(OneDnnConv2d, MatchesIm2colForwardAndGradients) {
  CSG_REQUIRE_ONEDNN();
  uint64_t seed = 700;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    std::vector<Tensor> plain;
    {
      onednn::PlainPathGuard im2col;
      plain = conv_run(c, o.x, o.w, o.b, o.dy);
    }
    const std::vector<Tensor> dnnl = conv_run(c, o.x, o.w, o.b, o.dy);
    expect_close(dnnl[0], plain[0], "output");
    expect_close(dnnl[1], plain[1], "input gradient");
    expect_close(dnnl[2], plain[2], "weight gradient");
    if (c.bias) expect_close(dnnl[3], plain[3], "bias gradient");
  }
}

#ifdef CSG_WITH_DNNL
// f32 3x3 stride-1 undilated convolutions on maps of at least 12x12 run all three training passes
// on oneDNN's Winograd kernel where the CPU has one (onednn::winograd_for_changing_weights), else
// (below AVX-512) the forward and data-gradient passes on our own (src/ops/winograd_3x3.h) and
// the weight gradient on the direct kernel; dilated ones over their phases where those are that
// large (dilated_as_batches.h). Their results are checked by MatchesIm2colForwardAndGradients.
// Smaller maps and phases, and strides, keep the direct kernels.
TEST(OneDnnConv2d, TrainingTakesWinogradOnMapsOfTwelveAndMore) {
  CSG_REQUIRE_ONEDNN();
  auto shape = [](int64_t map, int64_t stride, int64_t dilation) {
    const int64_t out = (map - 1) / stride + 1;
    return kernels::Conv2dShape{2, 64, map, map, 64, 3, 3, out, out, stride, stride, dilation, dilation, dilation,
                                dilation};
  };
  auto own = [](const std::string& k) { return k.rfind("csg:winograd_", 0) == 0; };  // f2x3 or f4x3
  auto wino = [&](const std::string& k) { return k.find("wino") != std::string::npos || own(k); };
  bool onednn_has_it = true;  // whether oneDNN has the kernel here, asked of oneDNN itself
  {
    const onednn::Geometry g(shape(14, 1, 1));
    try {
      dnnl::convolution_forward::primitive_desc(
          onednn::forward_desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd,
                               onednn::any_desc(g.src), g, dnnl::memory::data_type::f32, false,
                               onednn::any_desc(g.dst)),
          onednn::engine());
    } catch (const dnnl::error&) {
      onednn_has_it = false;
    }
  }
  std::cout << "Winograd in training here: " << (onednn_has_it ? "oneDNN's" : "csg's") << "\n";
  // 14x14; dilation 2 on 28x28 and dilation 4 on 48x48 over their 14x14 and 12x12 phases.
  for (const kernels::Conv2dShape& s : {shape(14, 1, 1), shape(28, 1, 2), shape(48, 1, 4)}) {
    SCOPED_TRACE("map " + std::to_string(s.H) + ", dilation " + std::to_string(s.dilation_h));
    const onednn::PassKernels k = onednn::conv2d_f32_kernels(s);
    if (onednn_has_it) {
      EXPECT_TRUE(wino(k.forward) && !own(k.forward)) << k.forward;
      EXPECT_TRUE(wino(k.backward_data) && !own(k.backward_data)) << k.backward_data;
      EXPECT_TRUE(wino(k.backward_weights)) << k.backward_weights;
    } else {
      EXPECT_TRUE(own(k.forward)) << k.forward;
      EXPECT_TRUE(own(k.backward_data)) << k.backward_data;
      EXPECT_EQ(k.backward_weights.find("ref"), std::string::npos) << k.backward_weights;
    }
  }
  for (const kernels::Conv2dShape& s : {shape(8, 1, 1), shape(28, 2, 1), shape(16, 1, 2), shape(40, 1, 4)}) {
    SCOPED_TRACE("map " + std::to_string(s.H) + ", stride " + std::to_string(s.stride_h) + ", dilation " +
                 std::to_string(s.dilation_h));
    const onednn::PassKernels k = onednn::conv2d_f32_kernels(s);
    EXPECT_FALSE(wino(k.forward) || wino(k.backward_data) || wino(k.backward_weights))
        << k.forward << ", " << k.backward_data << ", " << k.backward_weights;
  }
  // A 7x7 map: ours where a batch gives 16 4x4 tiles (4 images) and oneDNN has no Winograd, else direct.
  for (int64_t batch : {2, 4}) {
    kernels::Conv2dShape s = shape(7, 1, 1);
    s.N = batch;
    const onednn::PassKernels k = onednn::conv2d_f32_kernels(s);
    const bool ours = batch == 4 && !onednn_has_it;
    EXPECT_EQ(own(k.forward), ours) << "batch " << batch << ": " << k.forward;
    EXPECT_EQ(own(k.backward_data), ours) << "batch " << batch << ": " << k.backward_data;
    EXPECT_FALSE(wino(k.backward_weights)) << k.backward_weights;
    EXPECT_EQ(k.backward_weights == "csg:im2col_sgemm", !onednn_has_it) << k.backward_weights;
  }
}

// Both tests above again in a child process of this binary with oneDNN capped at AVX2
// (ONEDNN_MAX_CPU_ISA, read before its first kernel), where it has no f32 Winograd: an AVX-512
// machine checks csg's own Winograd in training too.
TEST(OneDnnConv2d, TrainingWithoutOneDnnWinogradMatchesIm2col) {
  CSG_REQUIRE_ONEDNN();
  const csg::testing::ShellResult r = csg::testing::run_self(
      "ONEDNN_MAX_CPU_ISA=AVX2",
      "OneDnnConv2d.MatchesIm2colForwardAndGradients:OneDnnConv2d.TrainingTakesWinogradOnMapsOfTwelveAndMore");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Winograd in training here: csg's"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 2 tests"), std::string::npos) << r.output;
}
#endif

#ifdef CSG_WITH_DNNL
// f32 1x1 stride-1 unpadded convolutions on maps of 28x28 and more run as matrix products on the
// plain tensors (pointwise_gemm.h; checked by MatchesIm2colForwardAndGradients); smaller maps,
// strides and padding keep oneDNN's 1x1 kernel.
TEST(OneDnnConv2d, PointwiseOnMapsOfTwentyEightAndMoreRunsAsMatrixProducts) {
  CSG_REQUIRE_ONEDNN();
  auto shape = [](int64_t map, int64_t stride, int64_t pad) {
    const int64_t out = (map + 2 * pad - 1) / stride + 1;
    return kernels::Conv2dShape{2, 64, map, map, 128, 1, 1, out, out, stride, stride, pad, pad, 1, 1};
  };
  const onednn::PassKernels big = onednn::conv2d_f32_kernels(shape(28, 1, 0));
  for (const std::string& k : {big.forward, big.backward_data, big.backward_weights}) EXPECT_EQ(k, "pointwise_gemm");
  for (const kernels::Conv2dShape& s : {shape(27, 1, 0), shape(56, 2, 0), shape(28, 1, 1)}) {
    SCOPED_TRACE("map " + std::to_string(s.H) + ", stride " + std::to_string(s.stride_h) + ", pad " +
                 std::to_string(s.pad_h));
    EXPECT_NE(onednn::conv2d_f32_kernels(s).forward, "pointwise_gemm");
  }
}
#endif

#ifdef CSG_WITH_DNNL
// Splitting into phases and merging back: each phase holds every d-th pixel from its offset, zeros
// past the edge, and merging gives the input back exactly.
TEST(OneDnnConv2d, PhasesOfADilatedConvolutionHoldEveryDthPixel) {
  const int64_t N = 2, K = 3, H = 5, W = 7, vec = 2, d = 2, Hs = 3, Ws = 4;
  std::vector<float> x(N * K * H * W * vec), phases(d * d * N * K * Hs * Ws * vec, -1.0f), back(x.size(), -1.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
  onednn::space_to_batch(x.data(), phases.data(), N, K, H, W, vec, d);
  for (int64_t p = 0; p < d * d; ++p)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < Hs; ++i)
          for (int64_t j = 0; j < Ws; ++j)
            for (int64_t v = 0; v < vec; ++v) {
              const int64_t row = i * d + p / d, col = j * d + p % d;
              const float want = row < H && col < W ? x[(((n * K + k) * H + row) * W + col) * vec + v] : 0.0f;
              ASSERT_EQ(phases[((((p * N + n) * K + k) * Hs + i) * Ws + j) * vec + v], want)
                  << "phase " << p << ", image " << n << ", pixel (" << row << ", " << col << ")";
            }
  onednn::batch_to_space(phases.data(), back.data(), N, K, H, W, vec, d);
  EXPECT_EQ(back, x);
}
#endif

// BF16 mixed precision (csg train --precision bf16): the same convolutions with x, w and dy rounded
// to BF16 (8 significant bits, relative rounding 2^-9) and f32 accumulation. Each output is a sum of
// C*KH*KW products, each off by up to ~2^-8 relative, so the results stay within 2e-2 of f32 relative
// to the tensor's largest value; and they must differ from f32 (the BF16 kernels ran).
TEST(OneDnnConv2d, Bf16MixedPrecisionStaysCloseToF32) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  uint64_t seed = 900;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    const std::vector<Tensor> f32 = conv_run(c, o.x, o.w, o.b, o.dy);
    const std::vector<Tensor> bf16 = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16_numerics());
    const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
    for (int i = 0; i < (c.bias ? 4 : 3); ++i) {
      const double err = csg::testing::max_abs_diff(bf16[i], f32[i]) / csg::testing::max_abs(f32[i]);
      EXPECT_LE(err, 2e-2) << names[i];
      if (i < 3) {
        EXPECT_GT(err, 1e-6) << names[i] << ": equal to f32, the BF16 kernels did not run";
      }
    }
  }
}

#ifdef CSG_WITH_DNNL
// `t` rounded to BF16 and back by oneDNN's own reorder: the operands a BF16 kernel reads.
Tensor through_bf16(const Tensor& t) {
  using dnnl::memory;
  const memory::dims n{t.numel()};
  Tensor src = t.contiguous(), out = empty(t.shape(), {DType::F32});
  std::vector<uint16_t> half(static_cast<size_t>(t.numel()));
  memory f32(memory::desc(n, memory::data_type::f32, memory::format_tag::a), onednn::engine(), src.data<float>());
  memory bf16(memory::desc(n, memory::data_type::bf16, memory::format_tag::a), onednn::engine(), half.data());
  memory back(memory::desc(n, memory::data_type::f32, memory::format_tag::a), onednn::engine(), out.data<float>());
  dnnl::reorder(f32, bf16).execute(onednn::stream(), f32, bf16);
  dnnl::reorder(bf16, back).execute(onednn::stream(), bf16, back);
  return out;
}

// Where oneDNN has no direct weight-gradient kernel (3x3 dilated past a small map, as DeepLab's
// layer 4 and ASPP at 8x8), dw and db take the im2col path; in BF16 mixed precision it must read
// x and dy rounded as oneDNN's reorder rounds them (round to nearest even), so its result equals
// the im2col path's on those rounded operands.
TEST(OneDnnConv2d, WeightGradientsWithoutADirectKernelTakeIm2colOnRoundedOperands) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  const ConvCase cases[] = {
      {"layer 4, dilation 4 at 8x8", {2, 64, 8, 8}, {64, 64, 3, 3}, 1, 4, 4, false},
      {"ASPP, dilation 12 at 8x8, bias", {2, 64, 8, 8}, {19, 64, 3, 3}, 1, 12, 12, true},
  };
  uint64_t seed = 1100;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dOptions opt = conv_options(c);
    const kernels::Conv2dShape s{c.x[0], c.x[1], c.x[2], c.x[3], c.w[0], c.w[2], c.w[3], c.x[2], c.x[3],
                                 1, 1, opt.pad_h, opt.pad_w, opt.dilation_h, opt.dilation_w};
    const ConvOperands o = conv_operands(c, seed);
    if (!onednn::conv2d_weight_gradient_by_im2col(s, c.bias, /*bf16=*/true))
      GTEST_SKIP() << "oneDNN has a direct BF16 weight-gradient kernel for this geometry on this CPU";
    const std::vector<Tensor> mixed = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16_numerics());
    std::vector<Tensor> rounded;
    {
      onednn::PlainPathGuard im2col;
      rounded = conv_run(c, through_bf16(o.x), o.w, o.b, through_bf16(o.dy));
    }
    expect_close(mixed[2], rounded[2], "weight gradient");
    if (c.bias) expect_close(mixed[3], rounded[3], "bias gradient");
    std::vector<Tensor> plain;
    {
      onednn::PlainPathGuard im2col;
      plain = conv_run(c, o.x, o.w, o.b, o.dy);
    }
    EXPECT_GT(csg::testing::max_abs_diff(mixed[2], plain[2]), 1e-6 * csg::testing::max_abs(plain[2]))
        << "the weight gradient did not read rounded operands";
  }
}
#endif

#ifdef CSG_WITH_DNNL
// The kernels a BF16 convolution pass may run (onednn::Bf16Kernel, chosen per geometry and pass
// by timing): oneDNN's BF16 primitive, its f32 primitive on operands rounded to BF16 (backward
// passes), and im2col + oneDNN's BF16 matmul. Each must give the results of BF16 operands summed
// in f32: the same values up to the order of the sums, so they agree to f32 rounding (the
// tolerance of this file) with the im2col path on operands rounded by oneDNN's own reorder; and
// they differ from the f32 results. Each forced kernel must be the one that ran.
TEST(OneDnnConv2d, Bf16KernelsGiveTheSameResults) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  using K = onednn::Bf16Kernel;
  const std::tuple<K, Bf16CpuKernel, const char*> kernels[] = {
      {K::Primitive, Bf16CpuKernel::Primitive, "BF16 primitive"},
      {K::F32OnRounded, Bf16CpuKernel::F32OnRounded, "f32 primitive on rounded operands"},
      {K::Im2colGemm, Bf16CpuKernel::Im2colGemm, "im2col + BF16 matmul"}};
  uint64_t seed = 1200;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    std::vector<Tensor> rounded, f32;
    {
      onednn::PlainPathGuard im2col;
      rounded = conv_run(c, through_bf16(o.x), through_bf16(o.w), o.b, through_bf16(o.dy));
      f32 = conv_run(c, o.x, o.w, o.b, o.dy);
    }
    for (const auto& [kernel, forced, kernel_name] : kernels) {
      SCOPED_TRACE(kernel_name);
      const uint64_t runs = onednn::bf16_kernel_runs(kernel);
      const std::vector<Tensor> r = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16_numerics(forced));
      // Forward, data and weights: three passes, but the forward has no F32OnRounded kernel and
      // a weight gradient without a direct oneDNN kernel has no primitive of its own.
      const uint64_t ran = onednn::bf16_kernel_runs(kernel) - runs;
      if (kernel == K::Im2colGemm) {
        EXPECT_EQ(ran, 3u) << "the forced kernel did not run";
      } else {
        EXPECT_GE(ran, 2u) << "the forced kernel did not run";
      }
      const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
      for (int i = 0; i < (c.bias ? 4 : 3); ++i) {
        SCOPED_TRACE(names[i]);
        expect_close(r[i], rounded[i], "vs im2col on oneDNN-rounded operands");
        if (i < 3) {
          EXPECT_GT(csg::testing::max_abs_diff(r[i], f32[i]), 1e-6 * csg::testing::max_abs(f32[i]));
        }
      }
    }
  }
}

// csg::ConvWeightsReuseScope: inside it a weight is reordered once and its copy reused while the
// weight is unchanged; an in-place write through the engine (version bump) reorders it again. A
// trainable weight's copy is remade in every scope (a raw-pointer write between steps bumps
// nothing); a frozen weight's is kept across scopes until its version changes. Every result
// equals the one computed without a scope, in f32 and in BF16.
TEST(OneDnnConv2d, ReusedWeightCopiesFollowTheWeights) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  for (const bool bf16 : {false, true}) {
    if (bf16 && !onednn::has_bf16(&why)) continue;
    SCOPED_TRACE(bf16 ? "bf16" : "f32");
    Conv2dOptions pad1;
    pad1.pad_h = pad1.pad_w = 1;
    if (bf16) pad1.numerics = csg::testing::bf16_numerics();
    const Tensor x = uniform({1, 32, 10, 10}, 1300, DType::F32);  // 9 tiles: the direct kernel everywhere
    Tensor w = uniform({32, 32, 3, 3}, 1301, DType::F32, -0.2, 0.2).requires_grad_();
    auto conv = [&](const Tensor& weight) { return conv2d(x, weight, Tensor(), pad1).detach(); };
    const Tensor before = conv(w);  // no scope: a fresh reorder
    const uint64_t r0 = onednn::weight_cache_reorders();
    {
      ConvWeightsReuseScope reuse;
      EXPECT_EQ(csg::testing::max_abs_diff(conv(w), before), 0);
      EXPECT_EQ(csg::testing::max_abs_diff(conv(w), before), 0);
      EXPECT_EQ(onednn::weight_cache_reorders() - r0, 1u) << "the second call reordered again";
      {
        NoGradGuard no_grad;
        w.mul_(0.5);  // bumps the version
      }
      const Tensor halved = conv(w);
      EXPECT_EQ(onednn::weight_cache_reorders() - r0, 2u);
      EXPECT_LT(csg::testing::max_abs_diff(halved, before * 0.5), 1e-2 * csg::testing::max_abs(before));
      EXPECT_GT(csg::testing::max_abs_diff(halved, before), 1e-3) << "a stale copy was used";
    }
    w.data<float>()[0] += 1.0f;  // a raw write between scopes: no version bump
    const Tensor want = conv(w);
    {
      ConvWeightsReuseScope reuse;
      EXPECT_EQ(csg::testing::max_abs_diff(conv(w), want), 0) << "a new scope used the copy of an earlier one";
    }

    // A frozen weight (no gradient): one reorder for two scopes, another after an engine write.
    Tensor frozen = uniform({32, 32, 3, 3}, 1302, DType::F32, -0.2, 0.2);
    const Tensor frozen_before = conv(frozen);
    const uint64_t r1 = onednn::weight_cache_reorders();
    for (int scope = 0; scope < 2; ++scope) {
      ConvWeightsReuseScope reuse;
      EXPECT_EQ(csg::testing::max_abs_diff(conv(frozen), frozen_before), 0);
    }
    EXPECT_EQ(onednn::weight_cache_reorders() - r1, 1u) << "a frozen weight was reordered in each scope";
    frozen.mul_(0.5);
    const Tensor frozen_halved = conv(frozen);  // no scope
    {
      ConvWeightsReuseScope reuse;
      EXPECT_EQ(csg::testing::max_abs_diff(conv(frozen), frozen_halved), 0);
      EXPECT_GT(csg::testing::max_abs_diff(conv(frozen), frozen_before), 1e-3) << "a stale frozen copy was used";
    }
    EXPECT_EQ(onednn::weight_cache_reorders() - r1, 2u);
  }
}

// A write through a raw pointer bumps no version; the kept copy's sample of the weights sees it,
// so the next convolution in the same scope, and in the next scope for a frozen weight, reads the
// new weights. Each result equals the one computed without a scope.
TEST(OneDnnConv2d, ReusedWeightCopiesSeeWritesThroughARawPointer) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  for (const bool bf16 : {false, true}) {
    if (bf16 && !onednn::has_bf16(&why)) continue;
    SCOPED_TRACE(bf16 ? "bf16" : "f32");
    Conv2dOptions pad1;
    pad1.pad_h = pad1.pad_w = 1;
    if (bf16) pad1.numerics = csg::testing::bf16_numerics(Bf16CpuKernel::Primitive);
    const Tensor x = uniform({1, 16, 9, 9}, 1400, DType::F32);  // 9 tiles: the direct kernel everywhere
    Tensor frozen = uniform({24, 16, 3, 3}, 1401, DType::F32, -0.2, 0.2);  // no gradient: kept across scopes
    auto conv = [&] { return conv2d(x, frozen, Tensor(), pad1); };
    auto scale_raw = [&](float k) {  // as a loader or an EMA written with raw pointers would
      float* p = frozen.data<float>();
      for (int64_t i = 0; i < frozen.numel(); ++i) p[i] *= k;
    };
    const uint64_t seen = onednn::weight_cache_unversioned_writes();
    const uint64_t version = frozen.storage().version();
    {
      ConvWeightsReuseScope reuse;
      const Tensor before = conv();
      scale_raw(0.5f);
      ASSERT_EQ(frozen.storage().version(), version) << "the write bumped the version: this test checks nothing";
      const Tensor after = conv();
      EXPECT_LT(csg::testing::max_abs_diff(after, before * 0.5), 1e-2 * csg::testing::max_abs(before));
      EXPECT_GT(csg::testing::max_abs_diff(after, before), 1e-3) << "the stale copy was used";
    }
    const Tensor halved = conv();  // no scope: a fresh conversion
    scale_raw(2.0f);  // between scopes
    const Tensor restored = conv();
    {
      ConvWeightsReuseScope reuse;
      EXPECT_EQ(csg::testing::max_abs_diff(conv(), restored), 0) << "a new scope used the copy of an earlier one";
    }
    EXPECT_GT(csg::testing::max_abs_diff(restored, halved), 1e-3);
    EXPECT_EQ(onednn::weight_cache_unversioned_writes() - seen, 2u);
  }
}

// Numerics travel with each call: an f32 and a BF16 convolution of the same operands, one after
// the other in one thread, each give their own precision's result, whatever ran before them.
TEST(OneDnnConv2d, TwoPrecisionsInOneThreadGiveTheirOwnResults) {
  CSG_REQUIRE_ONEDNN();
  std::string why;
  if (!onednn::has_bf16(&why)) GTEST_SKIP() << why;
  const ConvCase c{"3x3 pad1", {2, 32, 12, 12}, {32, 32, 3, 3}, 1, 1, 1, true};
  uint64_t seed = 1500;
  const ConvOperands o = conv_operands(c, seed);
  ConvNumerics bf16 = csg::testing::bf16_numerics();
  bf16.deterministic = true;  // the same kernel on every call
  const std::vector<Tensor> f32_ref = conv_run(c, o.x, o.w, o.b, o.dy);
  const std::vector<Tensor> bf16_ref = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16);
  std::vector<Tensor> plain;
  {
    onednn::PlainPathGuard im2col;
    plain = conv_run(c, o.x, o.w, o.b, o.dy);
  }
  expect_close(f32_ref[0], plain[0], "f32 output vs im2col");
  for (int round = 0; round < 2; ++round) {
    const std::vector<Tensor> a = conv_run(c, o.x, o.w, o.b, o.dy, Device::CPU, bf16);
    const std::vector<Tensor> b = conv_run(c, o.x, o.w, o.b, o.dy);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(csg::testing::max_abs_diff(a[i], bf16_ref[i]), 0) << "bf16 result " << i;
      EXPECT_EQ(csg::testing::max_abs_diff(b[i], f32_ref[i]), 0) << "f32 result " << i;
    }
    EXPECT_GT(csg::testing::max_abs_diff(a[0], b[0]), 1e-6 * csg::testing::max_abs(b[0])) << "bf16 equals f32";
  }
  // The same through layers: one model's convolutions in BF16, another's in f32.
  nn::Conv2d mixed(32, 32, 3, 1, 1), full(32, 32, 3, 1, 1);
  full.weight = mixed.weight;
  full.bias = mixed.bias;
  nn::set_conv_numerics(mixed, bf16);
  EXPECT_EQ(mixed.opt.numerics.precision, ConvPrecision::Bf16);
  EXPECT_EQ(full.opt.numerics.precision, ConvPrecision::F32);
  NoGradGuard no_grad;
  const Tensor ym = mixed.forward(o.x), yf = full.forward(o.x);
  EXPECT_EQ(csg::testing::max_abs_diff(yf, conv2d(o.x, full.weight, full.bias, full.opt)), 0);
  EXPECT_GT(csg::testing::max_abs_diff(ym, yf), 1e-6 * csg::testing::max_abs(yf));
}
#endif

// A primitive splits its work for the OpenMP thread count it was made under, and its sums follow
// that split. A convolution run at 1 thread after the same geometry ran at 2 must give the bits of
// one whose primitives were made at 1 thread: those of a new std::thread, whose primitive caches
// (per thread) start empty. Before the caches' keys held the thread count, the 1-thread run reused
// the 2-thread primitives: on a 2-vCPU AMD EPYC (Zen 3, oneDNN avx2) the 1x1 case's weight
// gradient then differed by 9.5e-7.
TEST(OneDnnConv2d, PrimitivesAreMadeForTheThreadCountTheyRunAt) {
  CSG_REQUIRE_ONEDNN();
  // Geometries no other test uses, so the first run here makes their primitives.
  const std::vector<ConvCase> cases = {
      {"3x3 pad1 on 6x6", {4, 48, 6, 6}, {48, 48, 3, 3}, 1, 1, 1, true},
      {"3x3 dilation2 on 7x7", {2, 40, 7, 7}, {40, 40, 3, 3}, 1, 2, 2, false},
      {"1x1 on 5x5", {4, 72, 5, 5}, {56, 72, 1, 1}, 1, 0, 1, false},
  };
  uint64_t seed = 1700;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const ConvOperands o = conv_operands(c, seed);
    auto run_at = [&](int threads) {
      bench::ThreadCount count(threads);
      return conv_run(c, o.x, o.w, o.b, o.dy);
    };
    run_at(2);
    const std::vector<Tensor> after_two = run_at(1);
    std::vector<Tensor> fresh;
    std::thread([&] { fresh = run_at(1); }).join();
    for (size_t i = 0; i < fresh.size(); ++i) {
      if (fresh[i].defined()) {
        EXPECT_EQ(csg::testing::max_abs_diff(after_two[i], fresh[i]), 0) << "result " << i;
      }
    }
  }
}

// matmul and linear (the f32 GEMM: oneDNN's sgemm against OpenBLAS's), with transposed views so
// every transpose flag is taken, and the InfoNCE logits' shape (features against a queue).
TEST(OneDnnGemm, MatmulAndLinearMatchOpenBlas) {
  CSG_REQUIRE_ONEDNN();
  struct Mm {
    const char* name;
    Shape a, b;
    bool ta, tb;  // given as the transpose of a stored [K,M] / [N,K]
  };
  const Mm cases[] = {
      {"plain 2-D", {7, 33}, {33, 5}, false, false},
      {"a transposed", {9, 16}, {16, 12}, true, false},
      {"b transposed", {4, 128}, {128, 300}, false, true},
      {"both transposed", {3, 17}, {17, 6}, true, true},
      {"batched 3-D", {3, 5, 8}, {3, 8, 4}, false, false},
  };
  uint64_t seed = 900;
  for (const Mm& c : cases) {
    SCOPED_TRACE(c.name);
    auto stored = [&](Shape s, bool t) {
      if (!t) return uniform(s, seed++, DType::F32);
      std::swap(s[s.size() - 1], s[s.size() - 2]);
      return uniform(s, seed++, DType::F32);
    };
    const Tensor a0 = stored(c.a, c.ta), b0 = stored(c.b, c.tb);
    auto run = [&] {
      Tensor a = a0.clone().requires_grad_(), b = b0.clone().requires_grad_();
      Tensor y = matmul(c.ta ? a.transpose(-1, -2) : a, c.tb ? b.transpose(-1, -2) : b);
      y.backward(ones(y.shape(), {DType::F32}) * 0.5);
      return std::vector<Tensor>{y.detach(), a.grad(), b.grad()};
    };
    std::vector<Tensor> plain;
    {
      onednn::PlainPathGuard openblas;
      plain = run();
    }
    const std::vector<Tensor> dnnl = run();
    expect_close(dnnl[0], plain[0], "product");
    expect_close(dnnl[1], plain[1], "gradient of a");
    expect_close(dnnl[2], plain[2], "gradient of b");
  }

  Tensor x0 = uniform({6, 40}, 1, DType::F32), w0 = uniform({10, 40}, 2, DType::F32), b0 = uniform({10}, 3, DType::F32);
  auto run_linear = [&] {
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    Tensor y = linear(x, w, b);
    y.backward(uniform(y.shape(), 4, DType::F32));
    return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
  };
  std::vector<Tensor> plain;
  {
    onednn::PlainPathGuard openblas;
    plain = run_linear();
  }
  const std::vector<Tensor> dnnl = run_linear();
  expect_close(dnnl[0], plain[0], "linear output");
  expect_close(dnnl[1], plain[1], "linear input gradient");
  expect_close(dnnl[2], plain[2], "linear weight gradient");
  expect_close(dnnl[3], plain[3], "linear bias gradient");
}
