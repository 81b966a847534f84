// src/ops/batch_norm.cpp — batch normalisation in Train, Eval and Frozen modes (see csg/ops.h).
//
// x is handled as [N,C,S] (S = H*W, or 1 for [N,C]); statistics are per channel over N*S
// values. CPU: one OpenMP iteration per channel, sums in double. CUDA: kernels/batch_norm.cu.
// The backward closures do not record (no double backward), so they call the kernels
// directly instead of composing differentiable ops.
#include <cmath>
#include <vector>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/batch_norm.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {

constexpr const char* kOp = "batch_norm";

struct BnShape {
  int64_t n, c, s;
  int64_t per_channel() const { return n * s; }
};

BnShape bn_shape(const Tensor& x) {
  return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1};
}

// Pointer to a [C] vector's data, or null when it is undefined (affine off).
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

// The in-place running-statistic update: `updated` holds the new values. When it is the
// running tensor's own storage (cuDNN updated it in place) only the version moves; otherwise
// the values are copied in, which bumps the version too.
void commit_running(const Tensor& running, const Tensor& updated) {
  if (updated.storage().data() == running.storage().data() && updated.offset() == running.offset()) {
    running.storage().bump_version();
    return;
  }
  NoGradGuard no_grad;
  Tensor(running).copy_(updated);
}

// ---- CPU bodies ---------------------------------------------------------------------------

// y = (x - mean[c]) * rstd[c] * w[c] + b[c], as one scale and shift per channel.
template <class T>
void cpu_normalize(const T* x, T* y, const double* mean, const double* rstd, const T* w, const T* b, BnShape sh) {
#pragma omp parallel for if (sh.c > 1 && sh.n * sh.c * sh.s > 16384)
  for (int64_t c = 0; c < sh.c; ++c) {
    const double scale = (w ? double(w[c]) : 1.0) * rstd[c];
    const double shift = (b ? double(b[c]) : 0.0) - mean[c] * scale;
    for (int64_t n = 0; n < sh.n; ++n) {
      const int64_t base = (n * sh.c + c) * sh.s;
      for (int64_t s = 0; s < sh.s; ++s) y[base + s] = static_cast<T>(x[base + s] * scale + shift);
    }
  }
}

// Batch mean and biased variance per channel (two passes), the running-stat update with
// the unbiased variance, and the normalised output.
template <class T>
void cpu_train_forward(const T* x, T* y, const T* w, const T* b, const T* running_mean, const T* running_var,
                       T* new_mean, T* new_var, T* save_mean, T* save_rstd, BnShape sh, double momentum,
                       double eps) {
  const double m = static_cast<double>(sh.per_channel());
  std::vector<double> mean(sh.c), rstd(sh.c);
#pragma omp parallel for if (sh.c > 1 && sh.n * sh.c * sh.s > 16384)
  for (int64_t c = 0; c < sh.c; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < sh.n; ++n)
      for (int64_t s = 0; s < sh.s; ++s) sum += x[(n * sh.c + c) * sh.s + s];
    const double mu = sum / m;
    double sq = 0;
    for (int64_t n = 0; n < sh.n; ++n)
      for (int64_t s = 0; s < sh.s; ++s) {
        const double d = x[(n * sh.c + c) * sh.s + s] - mu;
        sq += d * d;
      }
    const double var = sq / m;
    mean[c] = mu;
    rstd[c] = 1.0 / std::sqrt(var + eps);
    save_mean[c] = static_cast<T>(mu);
    save_rstd[c] = static_cast<T>(rstd[c]);
    new_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mu);
    new_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * var * m / (m - 1));
  }
  cpu_normalize(x, y, mean.data(), rstd.data(), w, b, sh);
}

// Per channel: sum(dy) and sum(dy * xhat), xhat = (x - mean)*rstd. x may be null when only
// sum(dy) is wanted.
template <class T>
void cpu_channel_sums(const T* x, const T* dy, const double* mean, const double* rstd, BnShape sh, double* sum_dy,
                      double* sum_dy_xhat) {
#pragma omp parallel for if (sh.c > 1 && sh.n * sh.c * sh.s > 16384)
  for (int64_t c = 0; c < sh.c; ++c) {
    double a = 0, b = 0;
    for (int64_t n = 0; n < sh.n; ++n) {
      const int64_t base = (n * sh.c + c) * sh.s;
      for (int64_t s = 0; s < sh.s; ++s) {
        a += dy[base + s];
        if (x) b += dy[base + s] * (x[base + s] - mean[c]) * rstd[c];
      }
    }
    sum_dy[c] = a;
    sum_dy_xhat[c] = b;
  }
}

template <class T>
std::vector<double> to_doubles(const T* p, int64_t n) {
  return std::vector<double>(p, p + n);
}

// ---- the three modes ----------------------------------------------------------------------

Tensor train_mode(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, double momentum, double eps) {
  const BnShape sh = bn_shape(x_in);
  CSG_CHECK(sh.per_channel() > 1, kOp, ": training needs more than one value per channel, got input ",
            x_in.describe());
  Tensor x = x_in.detach().contiguous();
  Tensor w = contiguous_or_undefined(weight), b = contiguous_or_undefined(bias);
  Tensor y = empty(x.shape(), x.options());
  Tensor save_mean = empty({sh.c}, x.options()), save_rstd = empty({sh.c}, x.options());
  if (x.is_cuda()) {
    // cuDNN updates the running statistics in place: hand it contiguous buffers.
    Tensor rm = running_mean.detach().contiguous(), rv = running_var.detach().contiguous();
    CSG_CUDA_CALL(kOp, kernels::batch_norm_train_forward_f32(
                           x.data<float>(), y.data<float>(), data_or_null<float>(w), data_or_null<float>(b),
                           rm.data<float>(), rv.data<float>(), save_mean.data<float>(), save_rstd.data<float>(),
                           sh.n, sh.c, sh.s, momentum, eps));
    commit_running(running_mean, rm);
    commit_running(running_var, rv);
  } else {
    Tensor rm = running_mean.detach().contiguous(), rv = running_var.detach().contiguous();
    Tensor new_mean = empty({sh.c}, x.options()), new_var = empty({sh.c}, x.options());
    dispatch_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      cpu_train_forward(x.data<T>(), y.data<T>(), data_or_null<T>(w), data_or_null<T>(b), rm.data<T>(),
                        rv.data<T>(), new_mean.data<T>(), new_var.data<T>(), save_mean.data<T>(),
                        save_rstd.data<T>(), sh, momentum, eps);
    });
    commit_running(running_mean, new_mean);
    commit_running(running_var, new_var);
  }
  if (!any_requires_grad({x_in, weight, bias})) return y;

  Saved saved_x(x), saved_w(w);
  const bool need_x = x_in.requires_grad();
  const bool need_w = weight.defined() && weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  return record(kOp, y, {x_in, weight, bias}, [=](const Tensor& gy_in) -> std::vector<Tensor> {
    Tensor gy = gy_in.contiguous(), xv = saved_x.get(kOp), wv = saved_w.get(kOp);
    Tensor gx = empty(xv.shape(), xv.options());
    Tensor gw = need_w ? empty({sh.c}, xv.options()) : Tensor();
    Tensor gb = need_b ? empty({sh.c}, xv.options()) : Tensor();
    if (xv.is_cuda()) {
      CSG_CUDA_CALL(kOp, kernels::batch_norm_train_backward_f32(
                             xv.data<float>(), gy.data<float>(), data_or_null<float>(wv), save_mean.data<float>(),
                             save_rstd.data<float>(), gx.data<float>(), need_w ? gw.data<float>() : nullptr,
                             need_b ? gb.data<float>() : nullptr, sh.n, sh.c, sh.s, eps));
    } else {
      dispatch_float(xv.dtype(), kOp, [&](auto tag) {
        using T = decltype(tag);
        const T *px = xv.data<T>(), *pg = gy.data<T>(), *pw = data_or_null<T>(wv);
        std::vector<double> mean = to_doubles(save_mean.data<T>(), sh.c), rstd = to_doubles(save_rstd.data<T>(), sh.c);
        std::vector<double> sum_dy(sh.c), sum_dy_xhat(sh.c);
        cpu_channel_sums(px, pg, mean.data(), rstd.data(), sh, sum_dy.data(), sum_dy_xhat.data());
        for (int64_t c = 0; c < sh.c; ++c) {
          if (need_w) gw.data<T>()[c] = static_cast<T>(sum_dy_xhat[c]);
          if (need_b) gb.data<T>()[c] = static_cast<T>(sum_dy[c]);
        }
        T* pgx = gx.data<T>();
        const double m = static_cast<double>(sh.per_channel());
#pragma omp parallel for if (sh.c > 1 && sh.n * sh.c * sh.s > 16384)
        for (int64_t c = 0; c < sh.c; ++c) {
          const double k = (pw ? double(pw[c]) : 1.0) * rstd[c];
          const double mean_dy = sum_dy[c] / m, mean_dy_xhat = sum_dy_xhat[c] / m;
          for (int64_t n = 0; n < sh.n; ++n) {
            const int64_t base = (n * sh.c + c) * sh.s;
            for (int64_t s = 0; s < sh.s; ++s) {
              const double xhat = (px[base + s] - mean[c]) * rstd[c];
              pgx[base + s] = static_cast<T>(k * (pg[base + s] - mean_dy - xhat * mean_dy_xhat));
            }
          }
        }
      });
    }
    return {need_x ? gx : Tensor(), gw, gb};
  });
}

// Eval and Frozen: fixed statistics. Frozen records x alone, so weight and bias never get a
// gradient even when they require one.
Tensor fixed_stats_mode(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, bool frozen, double eps) {
  const BnShape sh = bn_shape(x_in);
  Tensor x = x_in.detach().contiguous();
  Tensor w = contiguous_or_undefined(weight), b = contiguous_or_undefined(bias);
  Tensor mean = running_mean.detach().contiguous(), var = running_var.detach().contiguous();
  Tensor y = empty(x.shape(), x.options());
  if (x.is_cuda()) {
    CSG_CUDA_CALL(kOp, kernels::batch_norm_eval_forward_f32(x.data<float>(), y.data<float>(), data_or_null<float>(w),
                                                            data_or_null<float>(b), mean.data<float>(),
                                                            var.data<float>(), sh.n, sh.c, sh.s, eps));
  } else {
    dispatch_float(x.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      std::vector<double> mu = to_doubles(mean.data<T>(), sh.c), rstd(sh.c);
      for (int64_t c = 0; c < sh.c; ++c) rstd[c] = 1.0 / std::sqrt(double(var.data<T>()[c]) + eps);
      cpu_normalize(x.data<T>(), y.data<T>(), mu.data(), rstd.data(), data_or_null<T>(w), data_or_null<T>(b), sh);
    });
  }
  std::vector<Tensor> inputs = frozen ? std::vector<Tensor>{x_in} : std::vector<Tensor>{x_in, weight, bias};
  if (!any_requires_grad(inputs)) return y;

  const bool need_x = x_in.requires_grad();
  const bool need_w = !frozen && weight.defined() && weight.requires_grad();
  const bool need_b = !frozen && bias.defined() && bias.requires_grad();
  // Backward uses the statistics of this forward even if a later Train step updates them.
  Tensor mean_fwd = mean.clone(), var_fwd = var.clone();
  Saved saved_x(need_w ? x : Tensor()), saved_w(w);
  return record(kOp, y, inputs, [=](const Tensor& gy_in) -> std::vector<Tensor> {
    Tensor gy = gy_in.contiguous(), xv = saved_x.get(kOp), wv = saved_w.get(kOp);
    Tensor gx = need_x ? empty(gy.shape(), gy.options()) : Tensor();
    Tensor gw = need_w ? empty({sh.c}, gy.options()) : Tensor();
    Tensor gb = need_b ? empty({sh.c}, gy.options()) : Tensor();
    if (gy.is_cuda()) {
      CSG_CUDA_CALL(kOp, kernels::batch_norm_eval_backward_f32(
                             need_w ? xv.data<float>() : nullptr, gy.data<float>(), data_or_null<float>(wv),
                             mean_fwd.data<float>(), var_fwd.data<float>(), need_x ? gx.data<float>() : nullptr,
                             need_w ? gw.data<float>() : nullptr, need_b ? gb.data<float>() : nullptr, sh.n, sh.c,
                             sh.s, eps));
    } else {
      dispatch_float(gy.dtype(), kOp, [&](auto tag) {
        using T = decltype(tag);
        const T *pg = gy.data<T>(), *pw = data_or_null<T>(wv);
        std::vector<double> mu = to_doubles(mean_fwd.data<T>(), sh.c), rstd(sh.c);
        for (int64_t c = 0; c < sh.c; ++c) rstd[c] = 1.0 / std::sqrt(double(var_fwd.data<T>()[c]) + eps);
        if (need_w || need_b) {
          std::vector<double> sum_dy(sh.c), sum_dy_xhat(sh.c);
          cpu_channel_sums(need_w ? xv.data<T>() : static_cast<const T*>(nullptr), pg, mu.data(), rstd.data(), sh,
                           sum_dy.data(), sum_dy_xhat.data());
          for (int64_t c = 0; c < sh.c; ++c) {
            if (need_w) gw.data<T>()[c] = static_cast<T>(sum_dy_xhat[c]);
            if (need_b) gb.data<T>()[c] = static_cast<T>(sum_dy[c]);
          }
        }
        if (need_x) {
          T* pgx = gx.data<T>();
#pragma omp parallel for if (sh.c > 1 && sh.n * sh.c * sh.s > 16384)
          for (int64_t c = 0; c < sh.c; ++c) {
            const double k = (pw ? double(pw[c]) : 1.0) * rstd[c];
            for (int64_t n = 0; n < sh.n; ++n) {
              const int64_t base = (n * sh.c + c) * sh.s;
              for (int64_t s = 0; s < sh.s; ++s) pgx[base + s] = static_cast<T>(pg[base + s] * k);
            }
          }
        }
      });
    }
    if (frozen) return {gx};
    return {gx, gw, gb};
  });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, BatchNormMode mode, double momentum, double eps) {
  check_float(kOp, x, "input");
  CSG_CHECK(x.dim() == 4 || x.dim() == 2, kOp, ": input must be [N,C,H,W] or [N,C], got ", x.describe());
  check_channel_vector(kOp, x, 1, "C", weight, "weight", true);
  check_channel_vector(kOp, x, 1, "C", bias, "bias", true);
  check_channel_vector(kOp, x, 1, "C", running_mean, "running_mean", false);
  check_channel_vector(kOp, x, 1, "C", running_var, "running_var", false);
  CSG_CHECK(!running_mean.requires_grad() && !running_var.requires_grad(), kOp,
            ": running statistics are buffers and must not require grad: ", running_mean.describe(), ", ",
            running_var.describe());
  CSG_CHECK(eps >= 0, kOp, ": eps must be >= 0, got ", eps);
  switch (mode) {
    case BatchNormMode::Train: return train_mode(x, weight, bias, running_mean, running_var, momentum, eps);
    case BatchNormMode::Eval: return fixed_stats_mode(x, weight, bias, running_mean, running_var, false, eps);
    case BatchNormMode::Frozen: return fixed_stats_mode(x, weight, bias, running_mean, running_var, true, eps);
  }
  CSG_FAIL(kOp, ": unknown mode ", static_cast<int>(mode));
}

}  // namespace csg
