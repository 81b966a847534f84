// tests/test_autograd.cpp — the tape: accumulation, shared subgraphs, modes and misuse.
#include "tests/testing.h"

using namespace csg;
using csg::testing::uniform;

TEST(Autograd, GradientsAccumulateAcrossUsesAndCalls) {
  Tensor x = from_vector(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  Tensor y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3, 5, 7}));
  sum(x * 2.0).backward();  // a second backward adds to .grad
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 7, 9}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, StoredGradientsNeverAliasWhatOthersHold) {
  // The backward takes private gradients over and adds in place where no one else can see:
  // a gradient the caller kept, a tensor the graph saved and the upstream gradient must not
  // change under it.
  Tensor x = from_vector(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  sum(x * 3.0).backward();
  Tensor kept = x.grad();
  sum(x * 2.0).backward();
  EXPECT_EQ(kept.to_vector(), (std::vector<double>{3, 3, 3}));  // unchanged
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 5, 5}));

  // The same gradient object reaching a leaf twice (add's backward hands g to both inputs).
  Tensor w = from_vector(std::vector<double>{1, 2}, {2}).requires_grad_();
  Tensor g = from_vector(std::vector<double>{10, 20}, {2});
  (w + w).backward(g);
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{20, 40}));
  EXPECT_EQ(g.to_vector(), (std::vector<double>{10, 20}));  // the caller's gradient is intact
  (w + w).backward(g);
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{40, 80}));

  // A view's gradient (reshape hands back a view of the upstream gradient) is copied.
  Tensor v = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor up = from_vector(std::vector<double>{1, 2, 3, 4}, {4});
  v.reshape({4}).backward(up);
  v.grad().add_(from_vector(std::vector<double>{1, 1, 1, 1}, {2, 2}));
  EXPECT_EQ(up.to_vector(), (std::vector<double>{1, 2, 3, 4}));

  // A residual junction: y = relu(x) + x accumulates two gradients into one non-leaf slot.
  Tensor r = from_vector(std::vector<double>{-1, 2}, {2}).requires_grad_();
  Tensor h = r * 1.0;
  sum(relu(h) + h).backward();
  EXPECT_EQ(r.grad().to_vector(), (std::vector<double>{1, 2}));
}

TEST(Autograd, DiamondGraph) {
  // z = a*b + exp(a*b): the shared node a*b receives two gradients.
  Tensor a = uniform({4}, 1).requires_grad_();
  Tensor b = uniform({4}, 2).requires_grad_();
  csg::testing::expect_gradients_match(
      [](const std::vector<Tensor>& in) {
        Tensor ab = in[0] * in[1];
        return ab + exp(ab);
      },
      {a, b});
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = uniform({3}, 3).requires_grad_();
  {
    NoGradGuard ng;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
  }
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage().data(), x.storage().data());
  Tensor y = sum(x * d);  // d is a constant: dy/dx = d
  y.backward();
  EXPECT_LT(csg::testing::max_abs_diff(x.grad(), x), 1e-15);
}

TEST(Autograd, MisuseGivesClearErrors) {
  Tensor x = uniform({3}, 4).requires_grad_();
  Tensor v = x * 3.0;
  EXPECT_THROW(v.backward(), Error);  // non-scalar without a gradient
  v.backward(ones({3}, {DType::F64}));
  EXPECT_EQ(x.grad().to_vector()[0], 3);
  EXPECT_THROW(v.backward(ones({3}, {DType::F64})), Error);  // graph freed after the first backward
  Tensor w = x * 3.0;
  w.backward(ones({3}, {DType::F64}), /*retain_graph=*/true);
  w.backward(ones({3}, {DType::F64}));
  EXPECT_EQ(x.grad().to_vector()[0], 9);
  EXPECT_THROW(zeros({1}).backward(), Error);  // nothing requires grad
  EXPECT_THROW(v.backward(ones({4}, {DType::F64})), Error);  // wrong gradient shape
  EXPECT_THROW((x * 2.0).requires_grad_(), Error);           // only leaves can be marked
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = ones({2}, {DType::F64}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 0.0;
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector()[0], 1);
}

TEST(Autograd, GradientFlowsAcrossDevices) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({3}, 5, DType::F32).requires_grad_();
  Tensor y = sum(x.to(Device::CUDA) * 2.0);
  y.backward();
  EXPECT_EQ(x.grad().device(), Device::CPU);
  EXPECT_EQ(x.grad().to_vector()[1], 2);
}
