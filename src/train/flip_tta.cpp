// src/train/flip_tta.cpp — see flip_tta.h.
#include "src/train/flip_tta.h"

#include <algorithm>
#include <cmath>

#include "csg/error.h"

namespace csg::train {

namespace {

std::vector<double> sigmoid_of(const Tensor& logits) {
  std::vector<double> v = logits.to(Device::CPU).to_vector();
  for (double& z : v) z = 1.0 / (1.0 + std::exp(-z));
  return v;
}

}  // namespace

Tensor flip_width(const Tensor& x) {
  CSG_CHECK(x.dim() == 4, "flip_width: expected [N,C,H,W], got ", x.dim(), " dimensions");
  const std::vector<double> v = x.to(Device::CPU).to_vector();
  const int64_t w = x.size(3), rows = static_cast<int64_t>(v.size()) / std::max<int64_t>(w, 1);
  std::vector<float> out(v.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) out[r * w + j] = static_cast<float>(v[r * w + (w - 1 - j)]);
  return from_vector(out, x.shape());
}

Tensor flip_tta_scores(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x, bool flip) {
  const Tensor logits = forward(x);
  std::vector<double> p = sigmoid_of(logits);
  if (flip) {
    const std::vector<double> q = sigmoid_of(forward(flip_width(x)));
    CSG_CHECK(q.size() == p.size(), "flip_tta_scores: the flipped view gave ", q.size(), " scores, the plain one ",
              p.size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = (p[i] + q[i]) / 2;
  }
  return from_vector(p, logits.shape()).to(DType::F32);
}

}  // namespace csg::train
