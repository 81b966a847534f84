// tests/test_dropout.cpp — dropout: identity cases, the counter-based mask (checked against
// counter_uniform itself), kept fraction and scaling, generator advance, gradients with a
// fixed generator, bit-identical CPU/CUDA masks, errors.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::max_abs_diff;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

TEST(Dropout, IdentityWhenEvaluatingOrPZero) {
  Tensor x = uniform({3, 4}, 81).requires_grad_();
  Generator gen(5);
  for (auto [p, training] : {std::pair<double, bool>{0.5, false}, {0.0, true}, {1.0, false}}) {
    Tensor y = dropout(x, p, training, gen);
    EXPECT_EQ(y.raw_data(), x.raw_data());
    EXPECT_EQ(y.to_vector(), x.to_vector());
  }
  EXPECT_EQ(gen.offset(), 0u);  // no counters drawn
  x.zero_grad();
  sum(dropout(x, 0.3, false, gen) * 2.0).backward();  // still differentiable
  for (double g : x.grad().to_vector()) EXPECT_EQ(g, 2.0);
}

TEST(Dropout, MaskIsTheCounterUniformThreshold) {
  const double p = 0.37;
  Tensor x = uniform({5, 7, 9}, 82, DType::F64, 1, 2);  // no zeros in the input
  Generator gen(1234);
  gen.take(100);  // a non-zero starting offset
  Tensor y = dropout(x, p, true, gen);
  EXPECT_EQ(gen.offset(), 100u + 315u);
  std::vector<double> xv = x.to_vector(), yv = y.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    const bool keep = counter_uniform(1234, 100 + i) >= p;
    EXPECT_EQ(yv[i], keep ? xv[i] * (1.0 / (1.0 - p)) : 0.0) << "element " << i;
  }
}

TEST(Dropout, KeptFractionAndScale) {
  const int64_t n = 200000;
  for (double p : {0.1, 0.5, 0.9}) {
    Generator gen(99);
    std::vector<float> y = dropout(ones({n}), p, true, gen).to_float_vector();
    int64_t kept = 0;
    for (float v : y) {
      if (v != 0.f) {
        ++kept;
        ASSERT_EQ(v, static_cast<float>(1.0 / (1.0 - p)));
      }
    }
    // Binomial(n, 1-p): standard deviation <= 0.0012 of n; 5 sigma.
    EXPECT_NEAR(static_cast<double>(kept) / n, 1 - p, 0.006) << "p = " << p;
  }
}

TEST(Dropout, FixedGeneratorFixesTheMask) {
  Tensor x = ones({1000});
  Generator a(7), b(7);
  const std::vector<double> first = dropout(x, 0.5, true, a).to_vector();
  EXPECT_EQ(dropout(x, 0.5, true, b).to_vector(), first);
  // The next draw uses fresh counters: a different mask.
  EXPECT_NE(dropout(x, 0.5, true, a).to_vector(), first);
  // Another seed, another mask.
  Generator c(8);
  EXPECT_NE(dropout(x, 0.5, true, c).to_vector(), first);
}

TEST(Dropout, PEqualOneGivesZeros) {
  Tensor x = uniform({4, 5}, 83).requires_grad_();
  Generator gen(3);
  Tensor y = dropout(x, 1.0, true, gen);
  for (double v : y.to_vector()) EXPECT_EQ(v, 0.0);
  sum(y).backward();
  for (double g : x.grad().to_vector()) EXPECT_EQ(g, 0.0);
}

TEST(Dropout, Gradients) {
  // Each evaluation builds the same generator state, so the mask is fixed and the op is a
  // fixed linear map that finite differences can check.
  Tensor x = uniform({4, 6}, 84).requires_grad_();
  for (double p : {0.25, 0.6})
    expect_gradients_match(
        [p](const Ins& in) {
          Generator gen(11);
          return dropout(in[0], p, true, gen);
        },
        {x});
  Tensor x3 = uniform({3, 4, 5}, 85).requires_grad_();
  expect_gradients_match(
      [](const Ins& in) {
        Generator gen(12);
        return dropout(in[0].permute({1, 0, 2}), 0.5, true, gen) * in[0].permute({1, 0, 2});
      },
      {x3});
}

TEST(Dropout, Errors) {
  Tensor x = uniform({2, 3}, 86);
  Generator gen(1);
  EXPECT_THROW(dropout(x, -0.1, true, gen), Error);
  EXPECT_THROW(dropout(x, 1.5, true, gen), Error);
  EXPECT_THROW(dropout(x, NAN, true, gen), Error);
  EXPECT_THROW(dropout(x, 1.5, false, gen), Error);
  EXPECT_THROW(dropout(zeros({2}, {DType::I64}), 0.5, true, gen), Error);
}

TEST(Dropout, CudaMaskIsBitIdentical) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({1000, 333}, 87, DType::F32, -2, 2);
  for (double p : {0.1, 0.5, 0.77}) {
    Generator gc(2024), gg(2024);
    gc.take(5);
    gg.take(5);
    Tensor yc = dropout(x, p, true, gc), yg = dropout(x.to(Device::CUDA), p, true, gg);
    EXPECT_EQ(yg.device(), Device::CUDA);
    EXPECT_EQ(max_abs_diff(yc, yg), 0.0) << "p = " << p;
    EXPECT_EQ(gc.offset(), gg.offset());
  }
  Tensor xg = uniform({7, 9}, 88).requires_grad_();
  expect_cuda_parity(
      [](const Ins& in) {
        Generator gen(13);
        return dropout(in[0], 0.4, true, gen);
      },
      {xg}, 0.0, 0.0);
  EXPECT_THROW(dropout(uniform({2, 3}, 89).to(Device::CUDA), 0.5, true), Error);  // f64 on CUDA
}
