// tests/test_method_nce.cpp — InfoNCE against PyTorch, and the negatives queue's FIFO order.
#include <map>

#include "csg/io/safetensors.h"
#include "csg/method.h"
#include "tests/testing.h"

using namespace csg;
using Ins = std::vector<Tensor>;

TEST(InfoNCE, MatchesPyTorch) {
  // data/fixtures/method/info_nce.safetensors from tools/reference/make_method_fixtures.py
  std::map<std::string, Tensor> ref;
  for (NamedTensor& t : load_safetensors("data/fixtures/method/info_nce.safetensors")) ref[t.name] = t.tensor;
  Tensor q_raw = ref["q_raw"].clone().detach().requires_grad_();
  Tensor q = l2_normalize(q_raw, 1);
  Tensor logits = method::info_nce_logits(q, ref["k"], ref["queue"], 0.07);
  EXPECT_LT(csg::testing::max_abs_diff(logits, ref["logits"]), 1e-12);
  Tensor loss = method::info_nce_loss(logits);
  EXPECT_NEAR(loss.item(), ref["loss"].item(), 1e-12);
  loss.backward();
  EXPECT_LT(csg::testing::max_abs_diff(q_raw.grad(), ref["grad_q_raw"]), 1e-12);
}

TEST(InfoNCE, GradientsAndShapes) {
  Tensor q = csg::testing::uniform({3, 4}, 1).requires_grad_();
  Tensor k = csg::testing::uniform({3, 4}, 2).requires_grad_();
  Tensor queue = csg::testing::uniform({4, 5}, 3).requires_grad_();
  csg::testing::expect_gradients_match(
      [](const Ins& in) { return method::info_nce_loss(method::info_nce_logits(in[0], in[1], in[2], 0.5)); },
      {q, k, queue});
  EXPECT_EQ(method::info_nce_logits(q, k, queue, 0.07).shape(), (Shape{3, 6}));
  EXPECT_THROW(method::info_nce_logits(q, k, csg::testing::uniform({5, 5}, 4), 0.07), Error);
}

TEST(NegativeQueue, FifoWithWrapAround) {
  method::NegativeQueue queue(2, 5, 0);
  // Initial columns are unit vectors.
  Tensor norms = sum(square(queue.keys()), {0});
  for (double n : norms.to_vector()) EXPECT_NEAR(n, 1.0, 1e-6);
  auto keys = [](double first, int64_t n) {
    std::vector<float> v;
    for (int64_t i = 0; i < n; ++i) v.insert(v.end(), {float(first + i), float(-(first + i))});
    return from_vector(v, {n, 2});
  };
  queue.enqueue(keys(10, 3));  // columns 0,1,2
  EXPECT_EQ(queue.pointer(), 3);
  queue.enqueue(keys(20, 3));  // columns 3,4 then wraps to 0
  EXPECT_EQ(queue.pointer(), 1);
  std::vector<double> row0 = queue.keys().select(0, 0).to_vector();
  EXPECT_EQ(row0, (std::vector<double>{22, 11, 12, 20, 21}));
  EXPECT_EQ(queue.keys().select(0, 1).to_vector()[3], -20);
  EXPECT_THROW(queue.enqueue(keys(0, 6)), Error);
  EXPECT_THROW(queue.enqueue(zeros({2, 3})), Error);
  method::NegativeQueue copy(2, 5, 1);
  copy.restore(queue.keys(), queue.pointer());
  EXPECT_EQ(csg::testing::max_abs_diff(copy.keys(), queue.keys()), 0);
  EXPECT_EQ(copy.pointer(), 1);
}
