// tests/test_loss.cpp — cross_entropy for [N,C] and [N,C,H,W]: values from PyTorch and a
// naive reference, ignore_index, gradients, the 65537-class InfoNCE shape, CUDA parity
// (including the device-side target check) and errors.
#include <cmath>
#include <string>

#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::max_abs_diff;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// Mean over non-ignored predictions of logsumexp(logits) - logit[target], with explicit
// loops over logits [N,C,P] (P = H*W, 1 for [N,C]) and target [N,P].
double naive_cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  const std::vector<double> x = logits.to_vector(), t = target.to_vector();
  const int64_t n = logits.size(0), c = logits.size(1), p = logits.numel() / (n * c);
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t q = 0; q < p; ++q) {
      const int64_t label = static_cast<int64_t>(t[i * p + q]);
      if (label == ignore_index) continue;
      double mx = -INFINITY, s = 0;
      for (int64_t k = 0; k < c; ++k) mx = std::max(mx, x[(i * c + k) * p + q]);
      for (int64_t k = 0; k < c; ++k) s += std::exp(x[(i * c + k) * p + q] - mx);
      total += mx + std::log(s) - x[(i * c + label) * p + q];
      ++count;
    }
  return count ? total / count : 0.0;
}

// Random labels in [0, classes), with every `ignore_every`-th one set to ignore_index.
Tensor labels(const Shape& shape, int64_t classes, uint64_t seed, int64_t ignore_every, int64_t ignore_index) {
  Tensor u = uniform(shape, seed, DType::F64, 0, 1);
  std::vector<double> v = u.to_vector();
  std::vector<int64_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    out[i] = std::min<int64_t>(static_cast<int64_t>(v[i] * classes), classes - 1);
    if (ignore_every > 0 && i % ignore_every == 1) out[i] = ignore_index;
  }
  return from_vector(out, shape);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(CrossEntropy, MatchesPyTorch) {
  // torch 1.13 (Debian python3-torch), float64:
  //   F.cross_entropy(tensor([[1,2,.5,-1],[0,-3,2.5,1],[4,4,4,4]]), tensor([1,-100,3])) = 0.940738129602873
  Tensor logits = from_vector(std::vector<double>{1, 2, .5, -1, 0, -3, 2.5, 1, 4, 4, 4, 4}, {3, 4});
  Tensor target = from_vector(std::vector<int64_t>{1, -100, 3}, {3});
  Tensor loss = cross_entropy(logits, target);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item(), 0.940738129602873, 1e-14);
  EXPECT_NEAR(cross_entropy(logits.to(DType::F32), target).item(), 0.940738129602873, 1e-6);
  //   l = (3 * torch.arange(24.).reshape(2,3,2,2).sin()); t = [[[0,2],[255,1]],[[2,255],[0,0]]]
  //   F.cross_entropy(l, t, ignore_index=255) = 0.843416529794809
  std::vector<double> l4(24);
  for (int i = 0; i < 24; ++i) l4[i] = 3 * std::sin(static_cast<double>(i));
  Tensor t4 = from_vector(std::vector<int64_t>{0, 2, 255, 1, 2, 255, 0, 0}, {2, 2, 2});
  EXPECT_NEAR(cross_entropy(from_vector(l4, {2, 3, 2, 2}), t4, 255).item(), 0.843416529794809, 1e-14);
}

TEST(CrossEntropy, MatchesNaiveReference) {
  Tensor l2 = uniform({7, 5}, 31, DType::F64, -3, 3);
  Tensor t2 = labels({7}, 5, 32, 3, -100);
  EXPECT_NEAR(cross_entropy(l2, t2).item(), naive_cross_entropy(l2, t2, -100), 1e-14);
  Tensor l4 = uniform({2, 4, 3, 5}, 33, DType::F64, -3, 3);
  Tensor t4 = labels({2, 3, 5}, 4, 34, 4, 255);
  EXPECT_NEAR(cross_entropy(l4, t4, 255).item(), naive_cross_entropy(l4, t4, 255), 1e-14);
  EXPECT_NEAR(cross_entropy(l4.to(DType::F32), t4, 255).item(), naive_cross_entropy(l4, t4, 255), 1e-6);
  // A non-contiguous logits tensor: [N,H,W,C] storage permuted to [N,C,H,W].
  Tensor nhwc = uniform({2, 3, 5, 4}, 35, DType::F64, -3, 3);
  Tensor nchw = nhwc.permute({0, 3, 1, 2});
  EXPECT_NEAR(cross_entropy(nchw, t4, 255).item(), naive_cross_entropy(nchw.contiguous(), t4, 255), 1e-14);
}

TEST(CrossEntropy, AllIgnoredGivesZeroAndZeroGradient) {
  Tensor logits = uniform({3, 4}, 36).requires_grad_();
  Tensor target = full({3}, -100, {DType::I64});
  Tensor loss = cross_entropy(logits, target);
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  for (double g : logits.grad().to_vector()) EXPECT_EQ(g, 0.0);
  expect_gradients_match([target](const Ins& in) { return cross_entropy(in[0], target); }, {logits});
  Tensor seg = uniform({1, 3, 2, 2}, 37).requires_grad_();
  EXPECT_EQ(cross_entropy(seg, full({1, 2, 2}, 255, {DType::I64}), 255).item(), 0.0);
}

TEST(CrossEntropy, Gradients) {
  Tensor l2 = uniform({6, 5}, 38, DType::F64, -2, 2).requires_grad_();
  Tensor t2 = labels({6}, 5, 39, 3, -100);
  expect_gradients_match([t2](const Ins& in) { return cross_entropy(in[0], t2); }, {l2});
  Tensor l4 = uniform({2, 3, 4, 3}, 40, DType::F64, -2, 2).requires_grad_();
  Tensor t4 = labels({2, 4, 3}, 3, 41, 5, 255);
  expect_gradients_match([t4](const Ins& in) { return cross_entropy(in[0], t4, 255); }, {l4});
  // Through a non-contiguous view, and a loss that is scaled afterwards.
  Tensor lt = uniform({5, 6}, 55, DType::F64, -2, 2).requires_grad_();
  expect_gradients_match([t2](const Ins& in) { return cross_entropy(in[0].transpose(0, 1), t2) * 3.0; }, {lt});
}

TEST(CrossEntropy, GradientIsSoftmaxMinusOneHotOverCount) {
  Tensor logits = from_vector(std::vector<double>{1, 2, 3, 0, 0, 0}, {2, 3}).requires_grad_();
  Tensor target = from_vector(std::vector<int64_t>{2, 0}, {2});
  cross_entropy(logits, target).backward();
  std::vector<double> g = logits.grad().to_vector();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(g[0], std::exp(1.0) / z / 2, 1e-15);
  EXPECT_NEAR(g[2], (std::exp(3.0) / z - 1) / 2, 1e-15);
  EXPECT_NEAR(g[3], (1.0 / 3 - 1) / 2, 1e-15);
  EXPECT_NEAR(g[4], 1.0 / 3 / 2, 1e-15);
}

TEST(CrossEntropy, InfoNceWidthInFloat) {
  // [N, 1+K] logits with K = 65536, label 0 (the positive), as InfoNCE uses them.
  Tensor logits = uniform({4, 65537}, 42, DType::F64, -10, 10);
  Tensor target = zeros({4}, {DType::I64});
  const double ref = naive_cross_entropy(logits, target, -100);
  Tensor lf = logits.to(DType::F32).requires_grad_();
  Tensor loss = cross_entropy(lf, target);
  EXPECT_NEAR(loss.item(), ref, 1e-5 * std::fabs(ref));
  loss.backward();
  // dlogits = (softmax - onehot(0)) / N
  std::vector<double> g = lf.grad().to_vector(), p = softmax(logits, 1).to_vector();
  double worst = 0;
  for (int64_t i = 0; i < 4 * 65537; ++i) {
    const double want = (p[i] - (i % 65537 == 0 ? 1.0 : 0.0)) / 4;
    worst = std::max(worst, std::fabs(g[i] - want));
  }
  EXPECT_LT(worst, 1e-7);
}

TEST(CrossEntropy, Errors) {
  Tensor l2 = uniform({3, 4}, 43);
  Tensor bad = from_vector(std::vector<int64_t>{1, 4, -100}, {3});
  std::string msg = error_of([&] { cross_entropy(l2, bad); });
  EXPECT_NE(msg.find("target[1] = 4"), std::string::npos) << msg;
  EXPECT_THROW(cross_entropy(l2, from_vector(std::vector<int64_t>{1, -1, 0}, {3})), Error);
  EXPECT_NO_THROW(cross_entropy(l2, from_vector(std::vector<int64_t>{1, -1, 0}, {3}), -1));
  Tensor l4 = uniform({2, 3, 2, 2}, 44);
  std::vector<int64_t> t4(8, 0);
  t4[6] = 255;
  t4[7] = 3;  // position [1,1,1]
  msg = error_of([&] { cross_entropy(l4, from_vector(t4, {2, 2, 2}), 255); });
  EXPECT_NE(msg.find("target[1,1,1] = 3"), std::string::npos) << msg;
  // Wrong target dtype, shapes that do not match, wrong ranks.
  EXPECT_THROW(cross_entropy(l2, from_vector(std::vector<double>{0, 1, 2}, {3})), Error);
  EXPECT_THROW(cross_entropy(l2, zeros({4}, {DType::I64})), Error);
  EXPECT_THROW(cross_entropy(l2, zeros({3, 1}, {DType::I64})), Error);
  EXPECT_THROW(cross_entropy(l4, zeros({2, 2, 3}, {DType::I64})), Error);
  EXPECT_THROW(cross_entropy(uniform({2, 3, 4}, 45), zeros({2, 4}, {DType::I64})), Error);
  EXPECT_THROW(cross_entropy(zeros({3, 4}, {DType::I64}), zeros({3}, {DType::I64})), Error);
}

TEST(CrossEntropy, CudaParity) {
  CSG_REQUIRE_CUDA();
  Tensor l2 = uniform({9, 7}, 46, DType::F64, -3, 3).requires_grad_();
  Tensor t2 = labels({9}, 7, 47, 3, -100);
  expect_cuda_parity([](const Ins& in) { return cross_entropy(in[0], in[1]); }, {l2, t2});
  Tensor l4 = uniform({2, 19, 13, 11}, 48, DType::F64, -3, 3).requires_grad_();
  Tensor t4 = labels({2, 13, 11}, 19, 49, 4, 255);
  expect_cuda_parity([](const Ins& in) { return cross_entropy(in[0], in[1], 255); }, {l4, t4});
  // InfoNCE width: C = 1 + 65536.
  Tensor wide = uniform({5, 65537}, 50, DType::F64, -10, 10).requires_grad_();
  Tensor t_wide = labels({5}, 65537, 51, 0, -100);
  expect_cuda_parity([](const Ins& in) { return cross_entropy(in[0], in[1]); }, {wide, t_wide}, 1e-5, 1e-5);
  // Everything ignored: 0 and a zero gradient on the device too.
  Tensor all_ignored = full({2, 13, 11}, 255, {DType::I64});
  expect_cuda_parity([](const Ins& in) { return cross_entropy(in[0], in[1], 255); }, {l4, all_ignored});
  // Without grad (no gradient buffer is written).
  EXPECT_NEAR(cross_entropy(l4.detach().to(DType::F32).to(Device::CUDA), t4.to(Device::CUDA), 255).item(),
              cross_entropy(l4.detach(), t4, 255).item(), 1e-5);
}

TEST(CrossEntropy, CudaReportsBadTargetPosition) {
  CSG_REQUIRE_CUDA();
  Tensor l2 = uniform({3, 4}, 52, DType::F32).to(Device::CUDA);
  Tensor bad2 = from_vector(std::vector<int64_t>{0, -100, 9}, {3}).to(Device::CUDA);
  // No sync per loss: the bad target is reported at the next read-back, not by the call.
  Tensor queued;
  EXPECT_NO_THROW(queued = cross_entropy(l2, bad2));
  std::string msg = error_of([&] { queued.item(); });
  EXPECT_NE(msg.find("target[2] = 9"), std::string::npos) << msg;
  EXPECT_NO_THROW(queued.item()) << "a reported check is not reported twice";
  msg = error_of([&] {
    cross_entropy(l2, bad2);
    cuda::synchronize();
  });
  EXPECT_NE(msg.find("target[2] = 9"), std::string::npos) << msg;
  Tensor l4 = uniform({2, 3, 2, 2}, 53, DType::F32).to(Device::CUDA);
  std::vector<int64_t> t4(8, 1);
  t4[5] = -7;  // position [1,0,1]; the later bad one is not the one reported
  t4[7] = 3;
  msg = error_of([&] { cross_entropy(l4, from_vector(t4, {2, 2, 2}).to(Device::CUDA), 255).item(); });
  EXPECT_NE(msg.find("target[1,0,1] = -7"), std::string::npos) << msg;
  // Device and dtype checks.
  EXPECT_THROW(cross_entropy(l2, zeros({3}, {DType::I64})), Error);
  EXPECT_THROW(cross_entropy(uniform({3, 4}, 54).to(Device::CUDA), zeros({3}, {DType::I64, Device::CUDA})), Error);
  // The op still works after an error (the flag is per call).
  EXPECT_NO_THROW(cross_entropy(l2, zeros({3}, {DType::I64, Device::CUDA})).item());
}
