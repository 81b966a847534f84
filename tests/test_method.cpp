// tests/test_method.cpp — A-pool, patch chunking, EMA (InfoNCE and the queue: test_method_nce.cpp).
#include "csg/method.h"
#include "tests/testing.h"

using namespace csg;
using Ins = std::vector<Tensor>;

TEST(APool, HandComputedExample) {
  // One sample, C=2, H=1, W=3. A = values:
  //   channel 0: [1, 2, 3], channel 1: [0, 1, 2]  -> g = (2, 1)
  //   raw = 2*A0 + A1 = [2, 5, 8], sum 15 -> a = [2/15, 5/15, 8/15]
  //   out0 = (1*2 + 2*5 + 3*8)/15 = 36/15, out1 = (0*2 + 1*5 + 2*8)/15 = 21/15
  Tensor v = from_vector(std::vector<double>{1, 2, 3, 0, 1, 2}, {1, 2, 1, 3});
  std::vector<double> out = method::attentional_pool(v, v).to_vector();
  EXPECT_NEAR(out[0], 36.0 / 15, 1e-15);
  EXPECT_NEAR(out[1], 21.0 / 15, 1e-15);
  // Attention from another map: uniform attention gives global average pooling.
  Tensor flat = ones({1, 2, 1, 3}, {DType::F64});
  std::vector<double> gap = method::attentional_pool(v, flat).to_vector();
  EXPECT_NEAR(gap[0], 2.0, 1e-15);
  EXPECT_NEAR(gap[1], 1.0, 1e-15);
  EXPECT_THROW(method::attentional_pool(v, ones({1, 2, 3, 1}, {DType::F64})), Error);
}

TEST(APool, GradientsThroughValuesAndAttention) {
  Tensor v = csg::testing::uniform({2, 3, 2, 3}, 1, DType::F64, 0.1, 1.0).requires_grad_();
  Tensor a = csg::testing::uniform({2, 3, 2, 3}, 2, DType::F64, 0.1, 1.0).requires_grad_();
  csg::testing::expect_gradients_match([](const Ins& in) { return method::attentional_pool(in[0], in[1]); }, {v, a});
  csg::testing::expect_gradients_match([](const Ins& in) { return method::attentional_pool(in[0], in[0]); }, {v});
}

TEST(ChunkPatches, PatchMajorOrder) {
  // B=2, C=1, 4x4 map, c=2: output index (i*2+j)*2 + b holds patch (i,j) of image b.
  Tensor x = arange(32, {DType::F64}).reshape({2, 1, 4, 4});
  Tensor p = method::chunk_patches(x, 2);
  ASSERT_EQ(p.shape(), (Shape{8, 1, 2, 2}));
  auto at = [&](int64_t n, int64_t h, int64_t w) { return p.select(0, n).select(0, 0).select(0, h).select(0, w).item(); };
  EXPECT_EQ(at(0, 0, 0), 0);        // patch (0,0), image 0
  EXPECT_EQ(at(1, 0, 0), 16);       // patch (0,0), image 1
  EXPECT_EQ(at(2, 0, 0), 2);        // patch (0,1), image 0: column 2
  EXPECT_EQ(at(4, 1, 1), 4 * 3 + 1);  // patch (1,0), image 0: row 3, column 1
  EXPECT_EQ(at(7, 1, 1), 16 + 15);  // patch (1,1), image 1: last element
  EXPECT_EQ(method::chunk_patches(x, 1).storage().data(), x.storage().data());
  EXPECT_THROW(method::chunk_patches(x, 3), Error);
  Tensor g = csg::testing::uniform({2, 2, 4, 4}, 3).requires_grad_();
  csg::testing::expect_gradients_match([](const Ins& in) { return method::chunk_patches(in[0], 2); }, {g});
}

TEST(EMA, MovesTargetsTowardsSources) {
  Tensor t = full({3}, 1.0, {DType::F64}), s = full({3}, 3.0, {DType::F64});
  method::ema_update({t}, {s}, 0.999);
  EXPECT_NEAR(t.to_vector()[0], 0.999 * 1 + 0.001 * 3, 1e-15);
  for (int i = 0; i < 20000; ++i) method::ema_update({t}, {s}, 0.999);
  EXPECT_NEAR(t.to_vector()[2], 3.0, 1e-6);
  EXPECT_THROW(method::ema_update({t}, {zeros({2}, {DType::F64})}, 0.9), Error);
}
