// tests/test_winograd_3x3.cpp — src/ops/winograd_3x3.h against csg's conv2d (im2col path): both
// tiles, both channel blocks, partial blocks, maps of every size modulo the tile, chunks of tile rows
// that end inside an image, bias, the residual sum and ReLU.
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

using Tile = Winograd3x3::Tile;

void expect_matches_conv2d(Tile tile, int64_t N, int64_t C, int64_t O, int64_t H, int64_t W, int64_t vec,
                           bool residual, bool relu) {
  SCOPED_TRACE(::testing::Message() << Winograd3x3::name(tile) << " N " << N << " C " << C << " O " << O << " " << H
                                    << "x" << W << " vec " << vec << (residual ? " residual" : "")
                                    << (relu ? " relu" : ""));
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
  const Winograd3x3 conv(w.contiguous().data<float>(), O, C, vec, tile);
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
  // F(4x4, 3x3)'s transforms multiply by up to 8 and divide by 24, rounding in each, so it is less
  // exact than F(2x2, 3x3); both stay within 1e-5 of the output's scale here.
  EXPECT_LE(worst, 1e-5 * scale) << "max |diff| " << worst << " of max |y| " << scale;
}

TEST(Winograd3x3, MatchesConv2dInBothTilesAndChannelBlocks) {
  for (Tile tile : {Tile::F2x2, Tile::F4x4})
    for (int64_t vec : {8, 16}) {
      expect_matches_conv2d(tile, 1, 16, 32, 14, 14, vec, false, true);
      expect_matches_conv2d(tile, 2, 32, 16, 13, 17, vec, true, true);  // partial tiles at the edges
      expect_matches_conv2d(tile, 1, 5, 11, 12, 9, vec, false, false);  // partial channel blocks
      expect_matches_conv2d(tile, 2, 24, 40, 1, 2, vec, true, false);   // a map smaller than one tile
      expect_matches_conv2d(tile, 1, 8, 8, 15, 10, vec, false, true);   // 4k+3 and 4k+2
    }
}

// Many tile rows: the call goes in chunks of rows, which the threads share out (one per thread)
// when there are enough of them; a chunk ends inside an image here (odd rows of tiles per image).
TEST(Winograd3x3, MatchesConv2dOverManyChunks) {
  expect_matches_conv2d(Tile::F4x4, 6, 64, 64, 30, 26, 8, true, true);
  expect_matches_conv2d(Tile::F2x2, 5, 64, 48, 29, 23, 16, false, true);
}

// An empty batch or map returns at once: the chunk arithmetic would divide by its zero rows of tiles
// (a crash, SIGFPE, is this test's failure).
TEST(Winograd3x3, EmptyBatchReturns) {
  const std::vector<float> w(8 * 8 * 9, 0.5f), x;
  std::vector<float> y;
  for (Tile tile : {Tile::F2x2, Tile::F4x4}) {
    const Winograd3x3 conv(w.data(), 8, 8, 8, tile);
    conv.run(x.data(), nullptr, y.data(), 0, 14, 14, false, false);
    conv.run(x.data(), nullptr, y.data(), 2, 0, 14, false, false);
  }
}

// F(4x4, 3x3) where its tiles are many, F(2x2, 3x3) where the transformed weights would be read
// for too few of them or a 4x4 tile would be half padding.
TEST(Winograd3x3, TakesTheLargerTileWhereItPays) {
  EXPECT_EQ(Winograd3x3::tile_for(1, 56, 56), Tile::F4x4);
  EXPECT_EQ(Winograd3x3::tile_for(1, 28, 28), Tile::F4x4);
  EXPECT_EQ(Winograd3x3::tile_for(16, 14, 14), Tile::F4x4);
  EXPECT_EQ(Winograd3x3::tile_for(1, 14, 14), Tile::F2x2);
  EXPECT_EQ(Winograd3x3::tile_for(1, 16, 16), Tile::F2x2);
  EXPECT_EQ(Winograd3x3::tile_for(1, 12, 12), Tile::F2x2);
}

// The weights written again (a refolded network) give the new convolution.
TEST(Winograd3x3, NewWeightsReplaceTheOld) {
  Generator gen(5);
  const Tensor x = randn({1, 8, 6, 6}, gen);
  const Tensor w1 = randn({8, 8, 3, 3}, gen), w2 = randn({8, 8, 3, 3}, gen);
  const Tensor b = zeros({8});
  for (Tile tile : {Tile::F2x2, Tile::F4x4}) {
    Winograd3x3 conv(w1.contiguous().data<float>(), 8, 8, 8, tile);
    conv.set_weights(w2.contiguous().data<float>());
    const Winograd3x3 fresh(w2.contiguous().data<float>(), 8, 8, 8, tile);
    const std::vector<float> xb = to_blocked(x, 8);
    std::vector<float> a(xb.size()), c(xb.size());
    conv.run(xb.data(), b.data<float>(), a.data(), 1, 6, 6, false, false);
    fresh.run(xb.data(), b.data<float>(), c.data(), 1, 6, 6, false, false);
    EXPECT_EQ(a, c) << Winograd3x3::name(tile);
  }
}

// Each product runs on one thread, over chunks that the shape alone decides: the result is the same
// bits on one thread or several, as a resumed training run (whose frozen encoder runs here) needs.
// The larger case has chunks enough for the threads to share them out; the smaller one shares out
// each chunk's products.
TEST(Winograd3x3, ResultDoesNotDependOnTheThreadCount) {
  for (int64_t N : {2, 12}) {
    Generator gen(9);
    const Tensor x = randn({N, 16, 20, 18}, gen);
    const Tensor w = randn({24, 16, 3, 3}, gen), b = randn({24}, gen);
    for (Tile tile : {Tile::F2x2, Tile::F4x4}) {
      const Winograd3x3 conv(w.contiguous().data<float>(), 24, 16, 8, tile);
      const std::vector<float> xb = to_blocked(x, 8);
      const size_t n = N * 3 * 20 * 18 * 8;
      std::vector<float> one(n), many(n);
      const int before = omp_get_max_threads();
      omp_set_num_threads(1);
      conv.run(xb.data(), b.data<float>(), one.data(), N, 20, 18, false, true);
      omp_set_num_threads(std::max(before, 3));
      conv.run(xb.data(), b.data<float>(), many.data(), N, 20, 18, false, true);
      omp_set_num_threads(before);
      EXPECT_EQ(one, many) << Winograd3x3::name(tile) << " N " << N;
    }
  }
}

}  // namespace
}  // namespace csg
