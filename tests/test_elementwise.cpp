// tests/test_elementwise.cpp — binary ops with broadcasting and the unary ops.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

TEST(Elementwise, BroadcastForwardValues) {
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector(std::vector<double>{10, 20, 30}, {3});
  EXPECT_EQ(add(a, b).to_vector(), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  Tensor c = from_vector(std::vector<double>{2, 4}, {2, 1});
  EXPECT_EQ(div(a, c).to_vector(), (std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5}));
  EXPECT_EQ(sub(b, a).to_vector(), (std::vector<double>{9, 18, 27, 6, 15, 24}));
  EXPECT_EQ(relu(from_vector(std::vector<double>{-1, 0, 2}, {3})).to_vector(), (std::vector<double>{0, 0, 2}));
  EXPECT_THROW(add(a, from_vector(std::vector<double>{1, 2}, {2})), Error);
}

TEST(Elementwise, BinaryGradientsWithBroadcasting) {
  Tensor a = uniform({2, 3, 4}, 1).requires_grad_();
  Tensor b = uniform({3, 1}, 2, DType::F64, 0.5, 1.5).requires_grad_();  // away from 0 for div
  expect_gradients_match([](const Ins& in) { return add(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return sub(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return mul(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return div(in[0], in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return div(in[1], in[0] + 3.0); }, {a, b});
}

TEST(Elementwise, UnaryGradients) {
  Tensor x = uniform({3, 5}, 3).requires_grad_();
  Tensor pos = uniform({3, 5}, 4, DType::F64, 0.2, 2.0).requires_grad_();
  expect_gradients_match([](const Ins& in) { return neg(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return exp(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return square(in[0]); }, {x});
  expect_gradients_match([](const Ins& in) { return in[0] * 2.5 + 1.0; }, {x});
  expect_gradients_match([](const Ins& in) { return log(in[0]); }, {pos});
  expect_gradients_match([](const Ins& in) { return sqrt(in[0]); }, {pos});
  // relu: keep inputs away from the kink at 0.
  Tensor r = from_vector(std::vector<double>{-1.5, -0.3, 0.4, 1.2, -2.0, 0.9}, {2, 3}).requires_grad_();
  expect_gradients_match([](const Ins& in) { return relu(in[0]); }, {r});
}

TEST(Elementwise, ReluGradientIsZeroAtZero) {
  Tensor x = zeros({3}, {DType::F64}).requires_grad_();
  sum(relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0, 0}));
}

TEST(Elementwise, AddReluIsReluOfTheSumWithItsGradients) {
  // Sums kept away from the kink at 0 for the finite differences; b transposed: a strided input.
  Tensor a = from_vector(std::vector<double>{-1.5, -0.3, 0.4, 1.2, -2.0, 0.9}, {2, 3}).requires_grad_();
  Tensor b = from_vector(std::vector<double>{0.2, 0.7, -0.3, 0.1, 1.1, -0.6}, {3, 2}).requires_grad_();
  expect_gradients_match([](const Ins& in) { return add_relu(in[0], in[1].transpose(0, 1)); }, {a, b});
  // The values and gradients of relu(add(a, b)), bit for bit, on a map large enough to run in parallel.
  const Tensor x = uniform({2, 64, 32, 32}, 7, DType::F32), y = uniform({2, 64, 32, 32}, 8, DType::F32);
  const Tensor probe = uniform({2, 64, 32, 32}, 9, DType::F32);
  auto run = [&](bool fused) {
    Tensor xa = x.detach().requires_grad_(), yb = y.detach().requires_grad_();
    Tensor out = fused ? add_relu(xa, yb) : relu(add(xa, yb));
    sum(mul(out, probe)).backward();
    return Ins{out.detach(), xa.grad(), yb.grad()};
  };
  const Ins fused = run(true), apart = run(false);
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_EQ(fused[i].to_vector(), apart[i].to_vector()) << i;
  EXPECT_THROW(add_relu(x, uniform({2, 64, 32, 1}, 10, DType::F32)), Error);  // no broadcasting
}

TEST(Elementwise, AddReluAddsAChannelShiftInTheSamePass) {
  Tensor a = uniform({2, 3, 2, 2}, 11).requires_grad_(), b = uniform({2, 3, 2, 2}, 12).requires_grad_();
  Tensor shift = from_vector(std::vector<double>{0.35, -0.25, 0.15}, {3}).requires_grad_();
  // Finite differences on inputs whose sums stay away from the kink at 0.
  Tensor a_far = mul(a.detach(), 3.0).requires_grad_();
  expect_gradients_match([](const Ins& in) { return add_relu(in[0], in[1], in[2]); }, {a_far, b, shift});
  // The values of relu(a + b + shift[c]) bit for bit, and the same gradients, on a map run in parallel.
  const Tensor x = uniform({2, 64, 32, 32}, 13, DType::F32), y = uniform({2, 64, 32, 32}, 14, DType::F32);
  const Tensor s = uniform({64}, 15, DType::F32), probe = uniform({2, 64, 32, 32}, 16, DType::F32);
  auto run = [&](bool fused) {
    Tensor xa = x.detach().requires_grad_(), yb = y.detach().requires_grad_(), sc = s.detach().requires_grad_();
    Tensor out = fused ? add_relu(xa, yb, sc) : relu(add(add(xa, yb), sc.reshape({1, 64, 1, 1})));
    sum(mul(out, probe)).backward();
    return Ins{out.detach(), xa.grad(), yb.grad(), sc.grad()};
  };
  const Ins fused = run(true), apart = run(false);
  EXPECT_EQ(fused[0].to_vector(), apart[0].to_vector());
  for (size_t i = 1; i < fused.size(); ++i)
    csg::testing::expect_close(fused[i], apart[i], 1e-6, 1e-5, csg::testing::Tolerance::ScaledByMax, "gradient");
  EXPECT_THROW(add_relu(x, y, uniform({32}, 17, DType::F32)), Error);                              // not C
  EXPECT_THROW(add_relu(uniform({6}, 18), uniform({6}, 19), uniform({6}, 20)), Error);            // no dim 1
}

TEST(Elementwise, NonContiguousInputs) {
  Tensor a = uniform({4, 3}, 5).requires_grad_();
  Tensor b = uniform({3, 4}, 6).requires_grad_();
  expect_gradients_match([](const Ins& in) { return mul(in[0].transpose(0, 1), in[1]); }, {a, b});
  expect_gradients_match([](const Ins& in) { return exp(in[0].slice(0, 1, 4, 2)); }, {a});
}

namespace {
// The elements of a (possibly strided) CPU double view in row-major order, read straight from its
// storage with the index arithmetic written out: the reference for the strided loops.
std::vector<double> naive_values(const Tensor& v) {
  const double* base = static_cast<const double*>(v.storage().data());
  std::vector<double> out;
  std::vector<int64_t> idx(v.dim(), 0);
  for (int64_t i = 0; i < v.numel(); ++i) {
    int64_t off = v.offset();
    for (int64_t d = 0; d < v.dim(); ++d) off += idx[d] * v.strides()[d];
    out.push_back(base[off]);
    for (int64_t d = v.dim() - 1; d >= 0 && ++idx[d] == v.shape()[d]; --d) idx[d] = 0;
  }
  return out;
}
// A view of `shape` whose innermost stride is not 1: a buffer of the reversed shape, permuted back.
Tensor reversed_layout(const Shape& shape, uint64_t seed) {
  Shape rev(shape.rbegin(), shape.rend()), perm(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) perm[d] = static_cast<int64_t>(shape.size() - 1 - d);
  return uniform(rev, seed).permute(perm);
}
}  // namespace

TEST(Elementwise, StridedLoopsMatchNaiveIndexing) {
  // Copies and binary ops walk non-contiguous tensors row by row; every layout here (permuted,
  // sliced with an offset and a step, broadcast with stride 0 inside and outside) must give the
  // elements that plain index arithmetic gives.
  Tensor base = uniform({2, 3, 4, 5}, 11);
  const std::vector<std::pair<const char*, Tensor>> views = {
      {"permute 0231", base.permute({0, 2, 3, 1})},
      {"permute 3210", base.permute({3, 2, 1, 0})},
      {"slice last dim 1:5:2", base.slice(3, 1, 5, 2)},
      {"select + transpose", base.select(1, 2).transpose(1, 2)},
      {"expand inner", base.slice(3, 0, 1).expand({2, 3, 4, 5})},
      {"expand outer", base.select(0, 1).unsqueeze(0).expand({2, 3, 4, 5})},
  };
  for (const auto& [what, v] : views) {
    SCOPED_TRACE(what);
    const std::vector<double> want = naive_values(v);
    EXPECT_EQ(v.contiguous().to_vector(), want);
    // Into a strided destination.
    Tensor dst = reversed_layout(v.shape(), 12);
    dst.copy_(v);
    EXPECT_EQ(naive_values(dst), want);
    // A binary op on two strided operands.
    Tensor w = reversed_layout(v.shape(), 13);
    const std::vector<double> wv = naive_values(w);
    std::vector<double> sum(want.size());
    for (size_t i = 0; i < want.size(); ++i) sum[i] = want[i] + wv[i];
    EXPECT_EQ(add(v, w).to_vector(), sum);
    std::vector<double> prod(want.size());
    for (size_t i = 0; i < want.size(); ++i) prod[i] = want[i] * wv[i];
    EXPECT_EQ(mul(w, v).to_vector(), prod);
  }
}

TEST(Elementwise, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor a = uniform({2, 3, 4}, 1).requires_grad_();
  Tensor b = uniform({3, 1}, 2, DType::F64, 0.5, 1.5).requires_grad_();
  Tensor pos = uniform({2, 3, 4}, 4, DType::F64, 0.2, 2.0).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return add(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return sub(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return mul(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return div(in[0], in[1]); }, {a, b});
  expect_cuda_parity([](const Ins& in) { return mul(in[0].transpose(1, 2), 3.0); }, {a});
  expect_cuda_parity([](const Ins& in) { return neg(in[0]) + 2.0; }, {a});
  expect_cuda_parity([](const Ins& in) { return exp(in[0]); }, {a});
  expect_cuda_parity([](const Ins& in) { return log(in[0]); }, {pos});
  expect_cuda_parity([](const Ins& in) { return sqrt(in[0]); }, {pos});
  expect_cuda_parity([](const Ins& in) { return square(in[0]); }, {a});
  expect_cuda_parity([](const Ins& in) { return relu(in[0]); }, {a});
  expect_cuda_parity([](const Ins& in) { return add_relu(in[0], in[1]); }, {a, pos});
  Tensor shift = uniform({3}, 21).requires_grad_();
  expect_cuda_parity([](const Ins& in) { return add_relu(in[0], in[1], in[2]); }, {a, pos, shift});
}
