// tests/test_matmul.cpp — matmul (2-D, batched) and linear: values against naive loops,
// finite-difference gradients in double, CPU/CUDA parity, and the entry errors.
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

// Naive a [B,M,K] @ b [B,K,N] (B = 1 for 2-D operands), read through the tensors' strides
// via to_vector of contiguous copies.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  const bool batched = a.dim() == 3;
  const int64_t B = batched ? a.size(0) : 1, M = a.size(-2), K = a.size(-1), N = b.size(-1);
  std::vector<double> va = a.contiguous().to_vector(), vb = b.contiguous().to_vector(), out(B * M * N, 0.0);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += va[(i * M + m) * K + k] * vb[(i * K + k) * N + n];
        out[(i * M + m) * N + n] = acc;
      }
  return out;
}

}  // namespace

TEST(Matmul, ForwardMatchesNaive2D) {
  for (DType dt : {DType::F64, DType::F32}) {
    const double tol = dt == DType::F64 ? 1e-12 : 1e-5;
    Tensor a = uniform({5, 7}, 1, dt), b = uniform({7, 3}, 2, dt);
    Tensor c = matmul(a, b);
    EXPECT_EQ(c.shape(), (Shape{5, 3}));
    EXPECT_EQ(c.dtype(), dt);
    expect_values_near(c.to_vector(), naive_matmul(a, b), tol);
  }
  // Hand-computed: [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]].
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector(std::vector<double>{5, 6, 7, 8}, {2, 2});
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<double>{19, 22, 43, 50}));
}

TEST(Matmul, ForwardMatchesNaiveBatched) {
  Tensor a = uniform({4, 3, 6}, 3), b = uniform({4, 6, 5}, 4);
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{4, 3, 5}));
  expect_values_near(c.to_vector(), naive_matmul(a, b), 1e-12);
}

// Transposed views go to BLAS with a transpose flag; other strided views are copied.
TEST(Matmul, NonContiguousOperands) {
  Tensor at = uniform({7, 5}, 5), bt = uniform({3, 7}, 6);
  Tensor a = at.transpose(0, 1), b = bt.transpose(0, 1);  // [5,7], [7,3], column-major
  expect_values_near(matmul(a, b).to_vector(), naive_matmul(a, b), 1e-12);
  Tensor wide = uniform({5, 14}, 7);
  Tensor strided = wide.slice(1, 0, 14, 2);  // [5,7] with column stride 2: copied
  expect_values_near(matmul(strided, b).to_vector(), naive_matmul(strided, b), 1e-12);
  Tensor batched = uniform({2, 6, 4}, 8);
  Tensor bt3 = batched.transpose(1, 2);  // [2,4,6]
  Tensor rhs = uniform({2, 6, 3}, 9);
  expect_values_near(matmul(bt3, rhs).to_vector(), naive_matmul(bt3, rhs), 1e-12);
  Tensor row = uniform({1, 7}, 10);
  expect_values_near(matmul(row, b).to_vector(), naive_matmul(row, b), 1e-12);
  Tensor col = uniform({7, 1}, 11);
  expect_values_near(matmul(a, col).to_vector(), naive_matmul(a, col), 1e-12);
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  Tensor a = zeros({3, 0}, {DType::F64}), b = zeros({0, 4}, {DType::F64});
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  EXPECT_EQ(c.to_vector(), std::vector<double>(12, 0.0));
  EXPECT_EQ(matmul(zeros({0, 3}, {DType::F64}), uniform({3, 2}, 1)).shape(), (Shape{0, 2}));
}

TEST(Matmul, Gradients2D) {
  Tensor a = uniform({4, 5}, 11).requires_grad_();
  Tensor b = uniform({5, 3}, 12).requires_grad_();
  expect_gradients_match([](const Ins& in) { return matmul(in[0], in[1]); }, {a, b});
  // Through transposed views of the leaves.
  Tensor at = uniform({5, 4}, 13).requires_grad_();
  expect_gradients_match([](const Ins& in) { return matmul(in[0].transpose(0, 1), in[1]); }, {at, b});
  // One side constant.
  Tensor c = uniform({5, 3}, 14);
  expect_gradients_match([c](const Ins& in) { return matmul(in[0], c); }, {a});
  expect_gradients_match([](const Ins& in) { return matmul(in[1], in[0]); }, {b, uniform({2, 5}, 15)});
}

TEST(Matmul, GradientsBatched) {
  Tensor a = uniform({3, 2, 4}, 16).requires_grad_();
  Tensor b = uniform({3, 4, 5}, 17).requires_grad_();
  expect_gradients_match([](const Ins& in) { return matmul(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return matmul(in[1].transpose(1, 2), in[0].transpose(1, 2)); },
                         {a, b});
}

TEST(Matmul, Errors) {
  Tensor a = uniform({3, 4}, 1), b = uniform({5, 2}, 2);
  EXPECT_THROW(matmul(a, b), Error);                                     // inner dims
  EXPECT_THROW(matmul(a, uniform({4}, 3)), Error);                       // rank
  EXPECT_THROW(matmul(uniform({2, 3, 4}, 1), uniform({4, 5}, 2)), Error);  // 3-D @ 2-D
  EXPECT_THROW(matmul(uniform({2, 3, 4}, 1), uniform({3, 4, 5}, 2)), Error);  // batch
  EXPECT_THROW(matmul(a, uniform({4, 2}, 3, DType::F32)), Error);        // dtype
  EXPECT_THROW(matmul(a, from_vector(std::vector<int64_t>{1, 2, 3, 4}, {4, 1})), Error);
  EXPECT_THROW(matmul(a, Tensor()), Error);
  try {
    matmul(a, b);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3,4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("matmul"), std::string::npos) << e.what();
  }
}

TEST(Linear, ForwardMatchesNaive) {
  for (DType dt : {DType::F64, DType::F32}) {
    const double tol = dt == DType::F64 ? 1e-12 : 1e-5;
    Tensor x = uniform({2, 3, 5}, 21, dt), w = uniform({4, 5}, 22, dt), b = uniform({4}, 23, dt);
    Tensor y = linear(x, w, b);
    EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
    std::vector<double> vx = x.to_vector(), vw = w.to_vector(), vb = b.to_vector(), want(24);
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t o = 0; o < 4; ++o) {
        double acc = vb[o];
        for (int64_t i = 0; i < 5; ++i) acc += vx[r * 5 + i] * vw[o * 5 + i];
        want[r * 4 + o] = acc;
      }
    expect_values_near(y.to_vector(), want, tol);
    // Without bias: the same minus the bias.
    std::vector<double> no_bias = linear(x, w, Tensor()).to_vector();
    for (int64_t i = 0; i < 24; ++i) EXPECT_NEAR(no_bias[i], want[i] - vb[i % 4], tol);
  }
  // A 1-D input is one row.
  Tensor v = uniform({5}, 24), w = uniform({3, 5}, 25);
  Tensor y = linear(v, w, Tensor());
  EXPECT_EQ(y.shape(), (Shape{3}));
  expect_values_near(y.to_vector(), naive_matmul(w, v.reshape({5, 1})), 1e-12);
}

TEST(Linear, Gradients) {
  Tensor x = uniform({2, 3, 5}, 31).requires_grad_();
  Tensor w = uniform({4, 5}, 32).requires_grad_();
  Tensor b = uniform({4}, 33).requires_grad_();
  expect_gradients_match([](const Ins& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
  expect_gradients_match([](const Ins& in) { return linear(in[0], in[1], Tensor()); }, {x, w});
  Tensor x2 = uniform({6, 5}, 34).requires_grad_();
  expect_gradients_match([](const Ins& in) { return linear(in[0], in[1], in[2]); }, {x2, w, b});
  // Non-contiguous input (transposed leaf).
  Tensor xt = uniform({5, 6}, 35).requires_grad_();
  expect_gradients_match([](const Ins& in) { return linear(in[0].transpose(0, 1), in[1], in[2]); }, {xt, w, b});
}

// Each subset of {x, weight, bias} requiring grad gets exactly its gradients, and they are right.
TEST(Linear, GradientSubsets) {
  Tensor x = uniform({3, 5}, 41), w = uniform({4, 5}, 42), b = uniform({4}, 43);
  for (int mask = 1; mask < 8; ++mask) {
    Tensor xi = x.clone(), wi = w.clone(), bi = b.clone();
    if (mask & 1) xi.requires_grad_();
    if (mask & 2) wi.requires_grad_();
    if (mask & 4) bi.requires_grad_();
    expect_gradients_match([](const Ins& in) { return linear(in[0], in[1], in[2]); }, {xi, wi, bi});
    EXPECT_EQ(xi.grad().defined(), bool(mask & 1));
    EXPECT_EQ(wi.grad().defined(), bool(mask & 2));
    EXPECT_EQ(bi.grad().defined(), bool(mask & 4));
  }
}

TEST(Linear, Errors) {
  Tensor x = uniform({2, 5}, 1), w = uniform({4, 5}, 2);
  EXPECT_THROW(linear(uniform({2, 6}, 1), w, Tensor()), Error);      // in_features
  EXPECT_THROW(linear(x, uniform({4, 5, 1}, 2), Tensor()), Error);   // weight rank
  EXPECT_THROW(linear(x, w, uniform({3}, 3)), Error);                // bias size
  EXPECT_THROW(linear(x, w, uniform({4, 1}, 3)), Error);             // bias rank
  EXPECT_THROW(linear(x, w, uniform({4}, 3, DType::F32)), Error);    // bias dtype
  EXPECT_THROW(linear(uniform({2, 5}, 1, DType::F32), w, Tensor()), Error);
}

TEST(Matmul, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor a = uniform({5, 7}, 1).requires_grad_(), b = uniform({7, 3}, 2).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return matmul(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return matmul(in[1].transpose(0, 1), in[0].transpose(0, 1)); }, {a, b});
  Tensor wide = uniform({5, 14}, 3).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return matmul(in[0].slice(1, 0, 14, 2), in[1]); }, {wide, b});
  Tensor ba = uniform({4, 3, 6}, 4).requires_grad_(), bb = uniform({4, 6, 5}, 5).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return matmul(in[0], in[1]); }, {ba, bb});
  expect_cuda_parity([](const Ins& in) { return matmul(in[1].transpose(1, 2), in[0].transpose(1, 2)); }, {ba, bb});
  // A product large enough for cuBLAS's tiled kernels.
  Tensor la = uniform({96, 130}, 6).requires_grad_(), lb = uniform({130, 70}, 7).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return matmul(in[0], in[1]); }, {la, lb}, 1e-4, 1e-4);
}

TEST(Matmul, CudaEmptyInnerDimAndDeviceErrors) {
  CSG_REQUIRE_CUDA();
  Tensor a = zeros({3, 0}, {DType::F32, Device::CUDA}), b = zeros({0, 4}, {DType::F32, Device::CUDA});
  EXPECT_EQ(matmul(a, b).to_vector(), std::vector<double>(12, 0.0));
  Tensor x = uniform({3, 4}, 1, DType::F32), y = uniform({4, 2}, 2, DType::F32).to(Device::CUDA);
  EXPECT_THROW(matmul(x, y), Error);
  EXPECT_THROW(linear(x, y.transpose(0, 1), Tensor()), Error);
  EXPECT_THROW(matmul(uniform({3, 4}, 1).to(Device::CUDA), uniform({4, 2}, 2).to(Device::CUDA)), Error);  // f64
}

TEST(Linear, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({2, 3, 5}, 31).requires_grad_();
  Tensor w = uniform({4, 5}, 32).requires_grad_();
  Tensor b = uniform({4}, 33).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
  expect_cuda_parity([](const Ins& in) { return linear(in[0], in[1], Tensor()); }, {x, w});
  Tensor big = uniform({64, 200}, 34).requires_grad_(), bw = uniform({128, 200}, 35).requires_grad_();
  Tensor bb = uniform({128}, 36).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return linear(in[0], in[1], in[2]); }, {big, bw, bb});
}
