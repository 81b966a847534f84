// tests/test_regularizers.cpp — the Table 1 baselines (csg/method/regularizers.h): finite-difference
// gradients in double precision, values and gradients against PyTorch (build/fixtures/regularizers
// from tools/reference/make_regularizer_fixtures.py), and the online synaptic-intelligence state.
#include <map>

#include "csg/autograd.h"
#include "csg/io/safetensors.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"
#include "tests/testing.h"

using namespace csg;
using Ins = std::vector<Tensor>;

namespace {

std::map<std::string, Tensor> regularizer_fixture() {
  std::map<std::string, Tensor> ref;
  const std::string path = csg::testing::torch_fixture("regularizers/regularizers.safetensors");
  std::map<std::string, std::string> meta;
  for (NamedTensor& t : load_safetensors(path, &meta)) ref[t.name] = t.tensor;
  EXPECT_EQ(meta["version"], "1") << path << ": regenerate with make test";
  return ref;
}

Tensor leaf(const Tensor& t) { return t.clone().detach().requires_grad_(); }

}  // namespace

TEST(Regularizers, GradientsMatchFiniteDifferences) {
  Tensor w = csg::testing::uniform({3, 4}, 1).requires_grad_(), v = csg::testing::uniform({5}, 2).requires_grad_();
  Tensor w0 = csg::testing::uniform({3, 4}, 3), v0 = csg::testing::uniform({5}, 4);
  csg::testing::expect_gradients_match(
      [&](const Ins& in) { return method::weight_l2_distance({in[0], in[1]}, {w0, v0}); }, {w, v});
  Tensor f = csg::testing::uniform({4, 6}, 5).requires_grad_(), f0 = csg::testing::uniform({4, 6}, 6);
  csg::testing::expect_gradients_match([&](const Ins& in) { return method::feature_l2_distance(in[0], f0); }, {f});
  Tensor logits = csg::testing::uniform({4, 7}, 7, DType::F64, -3, 3).requires_grad_();
  Tensor old = csg::testing::uniform({4, 7}, 8, DType::F64, -3, 3);
  csg::testing::expect_gradients_match([&](const Ins& in) { return method::asg_kl_divergence(in[0], old); }, {logits});
  // The reference sides are constants: no gradient reaches them.
  Tensor f0g = f0.clone().detach().requires_grad_();
  method::feature_l2_distance(f, f0g).backward();
  EXPECT_FALSE(f0g.grad().defined());
  // Synaptic intelligence: the penalty's gradient in w, with Omega held constant.
  Tensor p = csg::testing::uniform({6}, 9).requires_grad_();
  Tensor p0 = csg::testing::uniform({6}, 10);
  method::SynapticIntelligence si({p}, {p0}, 1e-3);
  si.restore({csg::testing::uniform({6}, 11, DType::F64, 0.0, 2.0)});
  // (Omega depends on w but is held constant, so a finite difference of the penalty would see
  // it move: the gradient is compared with its closed form 2 Omega (w - w0) instead.)
  Tensor expected = [&] {
    NoGradGuard ng;
    return sum(mul(div(relu(si.path_integral()[0]), add(square(sub(p, p0)), 1e-3)), square(sub(p, p0))));
  }();
  Tensor pen = si.penalty();
  EXPECT_NEAR(pen.item(), expected.item(), 1e-14);
  pen.backward();
  Tensor want = [&] {
    NoGradGuard ng;
    return mul(mul(div(relu(si.path_integral()[0]), add(square(sub(p, p0)), 1e-3)), sub(p, p0)), 2.0);
  }();
  EXPECT_LT(csg::testing::max_abs_diff(p.grad(), want), 1e-14);
}

TEST(Regularizers, ZeroAtTheImageNetModelAndShapesChecked) {
  Tensor w = csg::testing::uniform({3, 4}, 1);
  EXPECT_EQ(method::weight_l2_distance({w}, {w.clone()}).item(), 0.0);
  EXPECT_EQ(method::feature_l2_distance(w, w.clone()).item(), 0.0);
  EXPECT_NEAR(method::asg_kl_divergence(w, w.clone()).item(), 0.0, 1e-15);
  method::SynapticIntelligence si({w.clone().requires_grad_()}, {w}, 1e-3);
  EXPECT_EQ(si.penalty().item(), 0.0);  // no path integral yet
  EXPECT_THROW(method::weight_l2_distance({w}, {csg::testing::uniform({4, 3}, 2)}), Error);
  EXPECT_THROW(method::feature_l2_distance(w, csg::testing::uniform({3, 5}, 2)), Error);
  EXPECT_THROW(method::asg_kl_divergence(w, csg::testing::uniform({3, 5}, 2)), Error);
  EXPECT_THROW(method::parse_regularizer("l3"), Error);
  EXPECT_EQ(method::default_regularizer_weight(method::Regularizer::AsgKl), 0.1);  // ASG's train.sh --lwf 0.1
}

TEST(Regularizers, MatchPyTorch) {
  CSG_REQUIRE_FIXTURE(csg::testing::torch_fixture("regularizers/regularizers.safetensors"));
  std::map<std::string, Tensor> ref = regularizer_fixture();
  {  // weight-l2
    Tensor a = leaf(ref["wl2.w_a"]), b = leaf(ref["wl2.w_b"]);
    Tensor v = method::weight_l2_distance({a, b}, {ref["wl2.w0_a"], ref["wl2.w0_b"]});
    EXPECT_NEAR(v.item(), ref["wl2.value"].item(), 1e-12);
    v.backward();
    EXPECT_LT(csg::testing::max_abs_diff(a.grad(), ref["wl2.grad_a"]), 1e-12);
    EXPECT_LT(csg::testing::max_abs_diff(b.grad(), ref["wl2.grad_b"]), 1e-12);
  }
  {  // feature-l2
    Tensor f = leaf(ref["fl2.f"]);
    Tensor v = method::feature_l2_distance(f, ref["fl2.f0"]);
    EXPECT_NEAR(v.item(), ref["fl2.value"].item(), 1e-12);
    v.backward();
    EXPECT_LT(csg::testing::max_abs_diff(f.grad(), ref["fl2.grad_f"]), 1e-12);
  }
  {  // asg-kl: nn.KLDivLoss(reduction='batchmean')(log_softmax(new), softmax(old))
    Tensor n = leaf(ref["kl.new"]);
    Tensor v = method::asg_kl_divergence(n, ref["kl.old"]);
    EXPECT_NEAR(v.item(), ref["kl.value"].item(), 1e-12);
    v.backward();
    EXPECT_LT(csg::testing::max_abs_diff(n.grad(), ref["kl.grad_new"]), 1e-12);
  }
  {  // synaptic intelligence: three SGD steps with the online path integral
    const std::vector<double> prm = ref["si.params"].to_vector();
    const double lam = prm[0], xi = prm[1], lr = prm[2];
    const int steps = static_cast<int>(prm[3]);
    Tensor w0 = ref["si.w0"], a = ref["si.a"], c = ref["si.c"];
    Tensor w = leaf(w0);
    method::SynapticIntelligence si({w}, {w0}, xi);
    const std::vector<double> penalties = ref["si.penalties"].to_vector();
    for (int s = 0; s < steps; ++s) {
      w.zero_grad();
      Tensor pen = si.penalty();
      EXPECT_NEAR(pen.item(), penalties[s], 1e-12) << "step " << s;
      Tensor loss = add(sum(mul(a, square(sub(w, c)))), mul(pen, lam));
      loss.backward();
      si.before_step();
      {
        NoGradGuard ng;
        w.add_(w.grad(), -lr);
      }
      si.after_step(lam);  // the task's gradient: the total minus the penalty's own
    }
    EXPECT_LT(csg::testing::max_abs_diff(w, ref["si.w"]), 1e-12);
    EXPECT_LT(csg::testing::max_abs_diff(si.path_integral()[0], ref["si.omega"]), 1e-12);
    EXPECT_NEAR(si.penalty().item(), ref["si.final_penalty"].item(), 1e-12);
  }
}
