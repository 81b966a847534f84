// tests/test_distributed.cpp — the in-process parts of data-parallel training: the backward
// hook that reports finished leaf gradients, and the gradient buckets' averaging and launch
// order, against a stand-in for the other ranks. (tests/test_data_parallel_mpi.cpp runs real
// processes under mpirun.)
#include <map>

#include "csg/autograd.h"
#include "csg/distributed.h"
#include "tests/testing.h"

using namespace csg;

TEST(LeafGradientHook, ReportsEachLeafOnceWhenItsGradientIsFinal) {
  Tensor a = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor b = from_vector(std::vector<float>{3, 4}, {2}).requires_grad_();
  Tensor unused = from_vector(std::vector<float>{5}, {1}).requires_grad_();
  // a is used twice, once early (last to be reached by backward) and once late.
  Tensor h = mul(a, b);
  Tensor y = sum(add(mul(h, 2.0), a));
  std::vector<std::pair<std::string, std::vector<double>>> seen;
  {
    LeafGradientHook hook([&](const Tensor& leaf) {
      seen.push_back({&leaf.impl() == &a.impl() ? "a" : &leaf.impl() == &b.impl() ? "b" : "?", leaf.grad().to_vector()});
    });
    y.backward();
  }
  ASSERT_EQ(seen.size(), 2u) << "one report per leaf that got a gradient (not `unused`)";
  std::map<std::string, std::vector<double>> by_name(seen.begin(), seen.end());
  EXPECT_EQ(by_name["a"], (std::vector<double>{7, 9})) << "reported before all of a's gradient had arrived";  // 2b + 1
  EXPECT_EQ(by_name["b"], (std::vector<double>{2, 4}));                                                     // 2a
  // Without a hook, backward is unchanged and another hook may be installed afterwards.
  a.zero_grad();
  sum(mul(a, 3.0)).backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{3, 3}));
  LeafGradientHook again([](const Tensor&) {});
}

namespace {

// Two ranks, the other of which always holds `other_factor` x our gradients: the sum is
// (1 + factor) x ours. Records the size of each reduction in the order they start.
class TwoRanksStandIn : public dist::Communicator {
 public:
  explicit TwoRanksStandIn(double other_factor) : factor_(other_factor) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "stand-in"; }
  void all_reduce_sum(std::vector<double>& v) override {
    for (double& x : v) x *= 1 + factor_;
  }
  std::string broadcast_text(const std::string& t, int) override { return t; }
  std::unique_ptr<dist::PendingReduce> start_all_reduce_sum(const Tensor& buffer) override {
    started.push_back(buffer.numel());
    struct Later : dist::PendingReduce {
      Tensor buf;
      double f;
      void wait() override { buf.mul_(1 + f); }
    };
    auto p = std::make_unique<Later>();
    p->buf = buffer;
    p->f = factor_;
    return p;
  }
  Tensor all_gather(const Tensor& x) override { return x; }
  void barrier() override {}
  std::vector<int64_t> started;

 private:
  double factor_;
};

}  // namespace

TEST(GradientAverager, AveragesOverRanksInBucketsStartedInReverseParameterOrder) {
  Tensor w1 = from_vector(std::vector<float>(6, 0.5f), {2, 3}).requires_grad_();
  Tensor w2 = from_vector(std::vector<float>(3, 2.0f), {3}).requires_grad_();
  Tensor w3 = from_vector(std::vector<float>(4, 1.0f), {4}).requires_grad_();
  Tensor idle = from_vector(std::vector<float>(2, 1.0f), {2}).requires_grad_();  // never used
  TwoRanksStandIn comm(/*other_factor=*/3.0);
  // A bucket closes once it holds >= 20 bytes; reverse order: {w3, idle} (24 B), {w2, w1} (36 B).
  dist::GradientAverager avg(comm, {w1, w2, idle, w3}, /*bucket_bytes=*/20);
  EXPECT_EQ(avg.bucket_count(), 2u);
  Tensor x = from_vector(std::vector<float>{1, 2}, {1, 2});
  Tensor y = add(sum(mul(matmul(x, w1), w2)), sum(mul(w3, w3)));
  avg.backward(y);
  // The mean of our gradient g and the other rank's 3g is 2g.
  EXPECT_EQ(w3.grad().to_vector(), std::vector<double>(4, 2 * 2.0));  // d/dw3 sum(w3^2) = 2 w3
  EXPECT_EQ(w2.grad().to_vector(), std::vector<double>(3, 2 * 1.5));  // x.w1 = 1.5 per column
  EXPECT_EQ(w1.grad().to_vector(), (std::vector<double>{2 * 2, 2 * 2, 2 * 2, 2 * 4, 2 * 4, 2 * 4}));
  EXPECT_FALSE(idle.grad().defined()) << "a parameter without a gradient must keep none";
  EXPECT_EQ(comm.started, (std::vector<int64_t>{2 + 4, 3 + 6})) << "bucket sizes in launch order";
}
