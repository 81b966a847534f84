// tests/test_optim.cpp — SGD in both variants and the warm-up + poly schedule.
#include <cmath>

#include "csg/optim.h"
#include "tests/testing.h"

using namespace csg;

namespace {
const std::vector<std::vector<double>> kGrads = {{0.3, -0.1, 0.2}, {0.1, 0.4, -0.5}, {-0.2, 0.2, 0.0}};

Tensor run_sgd(optim::SgdVariant variant, Device dev, DType dt, const std::vector<double>& lr_scales) {
  Tensor p = from_vector(std::vector<double>{1.0, -2.0, 0.5}, {3}, {dt, dev}).requires_grad_();
  optim::SGD sgd({{"all", {p}, 0.1}}, 0.9, 5e-4, variant);
  for (size_t s = 0; s < kGrads.size(); ++s) {
    sgd.zero_grad();
    p.set_grad(from_vector(kGrads[s], {3}, {dt, dev}));
    sgd.step(lr_scales[s]);
  }
  return p;
}
}  // namespace

TEST(SGD, TorchVariantMatchesTorchOptimSGD) {
  // torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=5e-4), three steps with the
  // gradients above, float64 (Debian python3-torch 2.x).
  Tensor p = run_sgd(optim::SgdVariant::Torch, Device::CPU, DType::F64, {1, 1, 1});
  std::vector<double> v = p.to_vector();
  EXPECT_NEAR(v[0], 0.919425711924875, 1e-15);
  EXPECT_NEAR(v[1], -2.06833892397475, 1e-15);
  EXPECT_NEAR(v[2], 0.5406610559499375, 1e-15);
}

TEST(SGD, ReferenceVariantFoldsTheLearningRateIntoMomentum) {
  // With a changing LR the variants differ; check the reference rule by hand for element 0.
  const std::vector<double> scales = {1.0, 0.5, 0.25};
  Tensor p = run_sgd(optim::SgdVariant::Reference, Device::CPU, DType::F64, scales);
  double x = 1.0, v = 0;
  for (size_t s = 0; s < 3; ++s) {
    double g = kGrads[s][0] + 5e-4 * x, lr = 0.1 * scales[s];
    v = s == 0 ? lr * g : 0.9 * v + lr * g;
    x -= v;
  }
  EXPECT_NEAR(p.to_vector()[0], x, 1e-15);
  // With a constant LR both variants take the same steps.
  Tensor a = run_sgd(optim::SgdVariant::Reference, Device::CPU, DType::F64, {1, 1, 1});
  Tensor b = run_sgd(optim::SgdVariant::Torch, Device::CPU, DType::F64, {1, 1, 1});
  EXPECT_LT(csg::testing::max_abs_diff(a, b), 1e-15);
}

TEST(SGD, ParametersWithoutGradientsStay) {
  Tensor p = ones({2}, {DType::F64}).requires_grad_();
  Tensor q = ones({2}, {DType::F64}).requires_grad_();
  optim::SGD sgd({{"a", {p}, 0.1}, {"b", {q}, 0.01}});
  sum(p * 3.0).backward();
  sgd.step();
  EXPECT_NEAR(p.to_vector()[0], 1.0 - 0.1 * (3.0 + 5e-4), 1e-15);
  EXPECT_EQ(q.to_vector()[0], 1.0);
  EXPECT_THROW(optim::SGD({{"frozen", {zeros({2})}, 0.1}}), Error);
  EXPECT_THROW(optim::SGD({{"result", {p * 2.0}, 0.1}}), Error);
}

TEST(SGD, CudaParity) {
  CSG_REQUIRE_CUDA();
  for (auto variant : {optim::SgdVariant::Reference, optim::SgdVariant::Torch}) {
    Tensor c = run_sgd(variant, Device::CPU, DType::F32, {1, 0.5, 0.25});
    Tensor g = run_sgd(variant, Device::CUDA, DType::F32, {1, 0.5, 0.25});
    EXPECT_LT(csg::testing::max_abs_diff(c, g), 1e-6);
  }
}

TEST(LrSchedule, WarmupThenPoly) {
  EXPECT_NEAR(optim::warmup_poly_lr_scale(0, 1000), 0.01, 1e-12);
  EXPECT_NEAR(optim::warmup_poly_lr_scale(50, 1000), (0.01 + 0.99 * 0.25) * std::pow(0.95, 0.9), 1e-12);
  EXPECT_NEAR(optim::warmup_poly_lr_scale(100, 1000), std::pow(0.9, 0.9), 1e-12);
  EXPECT_NEAR(optim::warmup_poly_lr_scale(1000, 1000), 0.0, 1e-12);
  EXPECT_THROW(optim::warmup_poly_lr_scale(-1, 10), Error);
}
