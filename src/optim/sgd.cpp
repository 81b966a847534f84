// src/optim/sgd.cpp — the SGD step (CPU loop or one CUDA kernel per parameter) and the LR schedule.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "csg/autograd.h"
#include "csg/optim.h"
#include "kernels/optim.h"
#include "src/core/dispatch.h"

namespace csg::optim {

SGD::SGD(std::vector<ParamGroup> groups, double momentum, double weight_decay, SgdVariant variant)
    : groups_(std::move(groups)), momentum_(momentum), weight_decay_(weight_decay), variant_(variant) {
  size_t n = 0;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) {
      check_float("SGD", p, ("a parameter of group " + g.name).c_str());
      CSG_CHECK(p.is_leaf() && p.is_contiguous() && p.requires_grad(), "SGD: parameter ", p.describe(), " of group ",
                g.name, " must be a contiguous leaf tensor that requires grad (frozen tensors stay out of the optimizer)");
      ++n;
    }
  buffers_.resize(n);
}

void SGD::zero_grad() {
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) p.zero_grad();
}

void SGD::step(double lr_scale) {
  NoGradGuard ng;
  size_t k = 0;
  for (ParamGroup& group : groups_) {
    const double lr = group.base_lr * lr_scale;
    for (Tensor& p : group.params) {
      Tensor& v = buffers_[k++];
      Tensor g = p.grad();
      if (!g.defined()) continue;
      g = g.contiguous();
      const bool first = !v.defined();
      if (first) v = empty_like(p);
      const int64_t n = p.numel();
      if (p.is_cuda()) {
        CSG_CUDA_CALL("SGD", kernels::sgd_update_f32(p.data<float>(), g.data<float>(), v.data<float>(), n,
                                                     static_cast<float>(lr), static_cast<float>(momentum_),
                                                     static_cast<float>(weight_decay_), first,
                                                     variant_ == SgdVariant::Reference ? 0 : 1));
      } else {
        dispatch_float(p.dtype(), "SGD", [&](auto tag) {
          using T = decltype(tag);
          T *pp = p.data<T>(), *pv = v.data<T>();
          const T* pg = g.data<T>();
          const T tlr = static_cast<T>(lr), mu = static_cast<T>(momentum_), wd = static_cast<T>(weight_decay_);
          // GCC -O2 left this loop scalar (a twentieth of a small CPU step): `omp simd`, with the
          // variant and the first step as compile-time constants and local pointers, vectorises it.
          auto update = [&, n](auto reference, auto first_step) {
            constexpr bool kReference = decltype(reference)::value, kFirst = decltype(first_step)::value;
            T* __restrict w = pp;
            T* __restrict m = pv;
            const T* __restrict d = pg;
            const T lr_t = tlr, mu_t = mu, wd_t = wd;
#pragma omp parallel for simd if (n > 65536)
            for (int64_t i = 0; i < n; ++i) {
              const T gi = d[i] + wd_t * w[i];
              if constexpr (kReference) {
                m[i] = kFirst ? lr_t * gi : mu_t * m[i] + lr_t * gi;
                w[i] -= m[i];
              } else {
                m[i] = kFirst ? gi : mu_t * m[i] + gi;
                w[i] -= lr_t * m[i];
              }
            }
          };
          const bool reference = variant_ == SgdVariant::Reference;
          using Yes = std::true_type;
          using No = std::false_type;
          if (reference) first ? update(Yes{}, Yes{}) : update(Yes{}, No{});
          else first ? update(No{}, Yes{}) : update(No{}, No{});
        });
      }
      p.storage().bump_version();
    }
  }
}

double warmup_poly_lr_scale(int64_t t, int64_t t_max, int64_t warmup, double power) {
  CSG_CHECK(t_max > 0 && t >= 0, "warmup_poly_lr_scale: need 0 <= t and t_max > 0, got t=", t, " t_max=", t_max);
  const double w = warmup > 0 ? std::min(0.01 + 0.99 * std::pow(static_cast<double>(t) / warmup, 2.0), 1.0) : 1.0;
  const double frac = std::max(0.0, 1.0 - static_cast<double>(t) / t_max);
  return w * std::pow(frac, power);
}

}  // namespace csg::optim
