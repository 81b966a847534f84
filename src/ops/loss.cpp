// src/ops/loss.cpp — softmax cross-entropy with ignore_index, for classification [N,C]
// (InfoNCE: C = 1 + 65536) and segmentation [N,C,H,W] (ignore_index 255).
//
// One fused pass per prediction computes the loss and, when logits require grad, the
// unscaled gradient softmax - onehot(target) (zero for ignored predictions). That tensor
// is saved instead of the logits — the same memory, since backward would otherwise need
// the logits alive — and it turns backward into one scale by g / count, so the softmax
// is never recomputed.
#include <cmath>
#include <vector>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/loss.h"
#include "src/core/dispatch.h"
#include "src/ops/dim_lanes.h"

namespace csg {
namespace {

constexpr const char* kOp = "cross_entropy";

// "[2,5,7]": the multi-index of flat position `flat` in a tensor of `shape`.
std::string position_str(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(idx);
}

[[noreturn]] void fail_bad_target(int64_t flat, int64_t value, const Tensor& target, int64_t classes,
                                  int64_t ignore_index) {
  CSG_FAIL(kOp, ": target", position_str(flat, target.shape()), " = ", value, " is outside [0, ", classes,
           ") and is not ignore_index (", ignore_index, "); target ", target.describe());
}

// Counts the targets that are not ignored; throws at the first one outside [0, classes).
int64_t count_valid_targets(const Tensor& target, int64_t classes, int64_t ignore_index) {
  const int64_t* t = target.data<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= classes) fail_bad_target(i, t[i], target, classes, ignore_index);
    ++valid;
  }
  return valid;
}

// x, dx [outer, C, inner]; target [outer, inner]; dx may be null. Returns the summed loss.
template <class T>
double cross_entropy_cpu(const T* x, const int64_t* target, T* dx, const DimSplit& s, int64_t ignore_index) {
  std::vector<double> block_loss(lane_block_count(s), 0.0);  // fixed order: deterministic sum
  parallel_lane_blocks(s, [&](int64_t b, int64_t base, int64_t lane0, int64_t width) {
    T max_v[kLaneBlock];
    double sum_exp[kLaneBlock];
    lane_max_sum_exp(x, base, width, s, max_v, sum_exp, dx);  // dx holds the exps for the gradient
    double acc = 0;
    for (int64_t j = 0; j < width; ++j) {
      const int64_t t = target[lane0 + j];
      if (t != ignore_index) acc += (max_v[j] - x[base + t * s.inner + j]) + std::log(sum_exp[j]);
    }
    block_loss[b] = acc;
    if (!dx) return;
    T inv_sum[kLaneBlock];
    for (int64_t j = 0; j < width; ++j) inv_sum[j] = static_cast<T>(1.0 / sum_exp[j]);
    for (int64_t k = 0; k < s.dim; ++k) {
      const int64_t row = base + k * s.inner;
      for (int64_t j = 0; j < width; ++j) {
        const int64_t t = target[lane0 + j];
        dx[row + j] = t == ignore_index ? T(0) : dx[row + j] * inv_sum[j] - T(k == t ? 1 : 0);
      }
    }
  });
  double total = 0;
  for (double v : block_loss) total += v;
  return total;
}

void check_inputs(const Tensor& logits, const Tensor& target) {
  check_float(kOp, logits, "logits");
  check_defined(kOp, target, "target");
  CSG_CHECK(target.dtype() == DType::I64, kOp, ": target must hold i64 class indices, got ", target.describe());
  check_same_device(kOp, logits, target);
  CSG_CHECK(logits.dim() == 2 || logits.dim() == 4, kOp, ": logits must be [N,C] or [N,C,H,W], got ",
            logits.describe());
  Shape expected{logits.size(0)};
  if (logits.dim() == 4) expected = {logits.size(0), logits.size(2), logits.size(3)};
  CSG_CHECK(target.shape() == expected, kOp, ": target ", target.describe(), " does not match logits ",
            logits.describe(), " (expected target shape ", shape_str(expected), ")");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target_in, int64_t ignore_index) {
  check_inputs(logits, target_in);
  Tensor x = logits.detach().contiguous(), target = target_in.detach().contiguous();
  const DimSplit s = split_at_dim(x.shape(), 1);  // [N, C, H*W] (H*W = 1 for [N,C])
  const bool need_grad = any_requires_grad({logits});
  Tensor dlogits = need_grad ? empty(x.shape(), x.options()) : Tensor();
  Tensor loss = empty({}, x.options());
  if (x.is_cuda()) {
    // The valid count stays on the device: 1/valid as a device scalar scales the backward.
    Tensor inv_valid = empty({}, x.options());
    const Shape target_shape = target.shape();
    const std::string target_desc = target.describe();
    CSG_CUDA_CALL(kOp, kernels::cross_entropy_f32(
                           x.data<float>(), target.data<int64_t>(), loss.data<float>(), inv_valid.data<float>(),
                           need_grad ? dlogits.data<float>() : nullptr, s.outer, s.dim, s.inner, ignore_index,
                           [=, classes = s.dim](int64_t flat, int64_t value) {
                             CSG_FAIL(kOp, ": target", position_str(flat, target_shape), " = ", value,
                                      " is outside [0, ", classes, ") and is not ignore_index (", ignore_index,
                                      "); target ", target_desc, " (found on the device, reported at this read-back)");
                           }));
    if (!need_grad) return loss;
    Saved saved_dlogits(dlogits);
    return record(kOp, loss, {logits}, [=](const Tensor& g) -> std::vector<Tensor> {
      return {mul(saved_dlogits.get(kOp), mul(g, inv_valid))};
    });
  }
  const int64_t valid = count_valid_targets(target, s.dim, ignore_index);
  dispatch_float(x.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    const double total = cross_entropy_cpu<T>(x.data<T>(), target.data<int64_t>(),
                                              need_grad ? dlogits.data<T>() : nullptr, s, ignore_index);
    *loss.data<T>() = static_cast<T>(valid ? total / static_cast<double>(valid) : 0.0);
  });
  if (!need_grad) return loss;
  Saved saved_dlogits(dlogits);
  const double inv_valid = valid ? 1.0 / static_cast<double>(valid) : 0.0;  // all ignored: zero gradient
  return record(kOp, loss, {logits}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {mul(saved_dlogits.get(kOp), mul(g, inv_valid))};
  });
}

}  // namespace csg
