// tests/test_winograd_f2x3.cpp — src/ops/winograd_f2x3.h against csg's conv2d (im2col path):
// both channel blocks, partial blocks, odd and even maps, bias, the residual sum and ReLU.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "csg/ops.h"
#include "tests/testing.h"

namespace csg {
namespace {

// NCHW [N,C,H,W] <-> [N][ceil(C/vec)][H][W][vec], zeros in the padding channels.
std::vector<float> to_blocked(const Tensor& t, int64_t vec) {
  const int64_t N = t.size(0), C = t.size(1), H = t.size(2), W = t.size(3), CB = (C + vec - 1) / vec;
  const std::vector<float> v = t.contiguous().to_float_vector();
  std::vector<float> out(N * CB * H * W * vec, 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H * W; ++i) out[((n * CB + c / vec) * H * W + i) * vec + c % vec] = v[(n * C + c) * H * W + i];
  return out;
}

void expect_matches_conv2d(int64_t N, int64_t C, int64_t O, int64_t H, int64_t W, int64_t vec, bool residual,
                           bool relu) {
  SCOPED_TRACE(::testing::Message() << "N " << N << " C " << C << " O " << O << " " << H << "x" << W << " vec " << vec
                                    << (residual ? " residual" : "") << (relu ? " relu" : ""));
  Generator gen(static_cast<uint64_t>(C * 131 + O * 7 + H + W + vec));
  const Tensor x = randn({N, C, H, W}, gen);
  const Tensor w = mul(randn({O, C, 3, 3}, gen), 1.0 / std::sqrt(double(C * 9)));
  const Tensor b = mul(randn({O}, gen), 0.1);
  const Tensor r = randn({N, O, H, W}, gen);
  Tensor want;
  {
    onednn::PlainPathGuard im2col;
    NoGradGuard ng;
    Conv2dOptions o;
    o.pad_h = o.pad_w = 1;
    want = conv2d(x, w, b, o);
    if (residual) want = add(want, r);
    if (relu) want = csg::relu(want);
  }
  const WinogradF2x3 conv(w.contiguous().data<float>(), O, C, vec);
  const std::vector<float> xb = to_blocked(x, vec);
  std::vector<float> y = residual ? to_blocked(r, vec) : std::vector<float>(to_blocked(want, vec).size(), 7.0f);
  conv.run(xb.data(), b.contiguous().data<float>(), y.data(), N, H, W, residual, relu);

  const std::vector<float> expected = to_blocked(want, vec);  // zeros in the padding channels too
  ASSERT_EQ(y.size(), expected.size());
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    worst = std::max(worst, std::abs(double(y[i]) - expected[i]));
    scale = std::max(scale, std::abs(double(expected[i])));
  }
  EXPECT_LE(worst, 1e-5 * scale) << "max |diff| " << worst << " of max |y| " << scale;
}

TEST(WinogradF2x3, MatchesConv2dInBothChannelBlocks) {
  for (int64_t vec : {8, 16}) {
    expect_matches_conv2d(1, 16, 32, 14, 14, vec, false, true);
    expect_matches_conv2d(2, 32, 16, 13, 17, vec, true, true);  // odd map: half tiles at the edges
    expect_matches_conv2d(1, 5, 11, 12, 9, vec, false, false);  // partial channel blocks
    expect_matches_conv2d(2, 24, 40, 1, 2, vec, true, false);   // a map smaller than one tile
  }
}

// The weights written again (a refolded network) give the new convolution.
TEST(WinogradF2x3, NewWeightsReplaceTheOld) {
  Generator gen(5);
  const Tensor x = randn({1, 8, 6, 6}, gen);
  const Tensor w1 = randn({8, 8, 3, 3}, gen), w2 = randn({8, 8, 3, 3}, gen);
  const Tensor b = zeros({8});
  WinogradF2x3 conv(w1.contiguous().data<float>(), 8, 8, 8);
  conv.set_weights(w2.contiguous().data<float>());
  const WinogradF2x3 fresh(w2.contiguous().data<float>(), 8, 8, 8);
  const std::vector<float> xb = to_blocked(x, 8);
  std::vector<float> a(xb.size()), c(xb.size());
  conv.run(xb.data(), b.data<float>(), a.data(), 1, 6, 6, false, false);
  fresh.run(xb.data(), b.data<float>(), c.data(), 1, 6, 6, false, false);
  EXPECT_EQ(a, c);
}

// Each of the 16 products runs on one thread: the result is the same bits on one thread or several,
// as a resumed training run (whose frozen encoder runs here) needs.
TEST(WinogradF2x3, ResultDoesNotDependOnTheThreadCount) {
  Generator gen(9);
  const Tensor x = randn({2, 16, 20, 18}, gen);
  const Tensor w = randn({24, 16, 3, 3}, gen), b = randn({24}, gen);
  const WinogradF2x3 conv(w.contiguous().data<float>(), 24, 16, 8);
  const std::vector<float> xb = to_blocked(x, 8);
  const size_t n = 2 * 3 * 20 * 18 * 8;
  std::vector<float> one(n), many(n);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  conv.run(xb.data(), b.data<float>(), one.data(), 2, 20, 18, false, true);
  omp_set_num_threads(std::max(before, 3));
  conv.run(xb.data(), b.data<float>(), many.data(), 2, 20, 18, false, true);
  omp_set_num_threads(before);
  EXPECT_EQ(one, many);
}

}  // namespace
}  // namespace csg
