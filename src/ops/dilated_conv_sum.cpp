// src/ops/dilated_conv_sum.cpp — dilated_conv_sum: DeepLabv2's ASPP classifier, a sum of dilated 3x3
// convolutions of one map, as one matrix product and a shifted sum of its rows (see csg/ops.h).
//
// Output pixel (h, w) of branch b reads tap (kh, kw) at (h + (kh-1)*d_b, w + (kw-1)*d_b), zero outside
// the map. So with Z = Wtaps x X, Wtaps [B*O*9, C] the branches' weights tap by tap and X [C, H*W] an
// image, y[o, h, w] = sum over b and taps of Z[(b, o, tap), h + dh, w + dw] where that pixel is inside.
// On DeepLabv2's head (2048 -> 19 channels, dilations 6..24 on a 64x64 map at 512 px) the direct
// kernels pad 19 output channels to 32 and reorder the 33.5 MB map into their blocked layout for each
// branch and pass; the product is one GEMM per pass over x at the GEMM's rate.
#include <vector>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {

constexpr const char* kOp = "dilated_conv_sum";
constexpr int64_t kTaps = 9;

// Where tap offset `shift` (dh or dw) keeps output index i inside an extent n: i in [lo, hi).
struct TapRange {
  int64_t lo, hi;
};
TapRange tap_range(int64_t shift, int64_t n) { return {std::max<int64_t>(0, -shift), std::min(n, n - shift)}; }

// y[n, o] += Z[n, b, o, tap] shifted, or (adjoint) gz[n, b, o, tap] = gy[n, o] shifted back.
// One (n, o) plane per iteration: its taps touch nothing of any other plane.
template <class T, bool kAdjoint>
void shift_taps(const T* z_or_gy, T* y_or_gz, int64_t N, int64_t B, int64_t O, int64_t H, int64_t W,
                const std::vector<int64_t>& dilations) {
  const int64_t plane = H * W;
#pragma omp parallel for collapse(2) if (N * O * plane > 16384)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t tap = 0; tap < kTaps; ++tap) {
          const int64_t dh = (tap / 3 - 1) * dilations[b], dw = (tap % 3 - 1) * dilations[b];
          const TapRange rows = tap_range(dh, H), cols = tap_range(dw, W);
          const int64_t zoff = (((n * B + b) * O + o) * kTaps + tap) * plane, yoff = (n * O + o) * plane;
          for (int64_t h = rows.lo; h < rows.hi; ++h) {
            const int64_t zrow = zoff + (h + dh) * W + dw, yrow = yoff + h * W;
            if constexpr (kAdjoint) {
              for (int64_t w = cols.lo; w < cols.hi; ++w) y_or_gz[zrow + w] = z_or_gy[yrow + w];
            } else {
              for (int64_t w = cols.lo; w < cols.hi; ++w) y_or_gz[yrow + w] += z_or_gy[zrow + w];
            }
          }
        }
    }
}

// z [N, B, O, 9, H, W] -> y [N, O, H, W], differentiable in z.
Tensor tap_sum(const Tensor& z_in, const std::vector<int64_t>& dilations) {
  Tensor z = z_in.detach().contiguous();
  const int64_t N = z.size(0), B = z.size(1), O = z.size(2), H = z.size(4), W = z.size(5);
  Tensor y = zeros({N, O, H, W}, z.options());
  dispatch_float(z.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    shift_taps<T, false>(z.data<T>(), y.data<T>(), N, B, O, H, W, dilations);
  });
  const Shape z_shape = z.shape();
  return record(kOp, y, {z_in}, [=](const Tensor& g_in) -> std::vector<Tensor> {
    Tensor g = g_in.contiguous();
    Tensor gz = zeros(z_shape, g.options());  // taps that fall outside the map get no gradient
    dispatch_float(g.dtype(), kOp, [&](auto tag) {
      using T = decltype(tag);
      shift_taps<T, true>(g.data<T>(), gz.data<T>(), N, B, O, H, W, dilations);
    });
    return {gz};
  });
}

void check_branches(const Tensor& x, const std::vector<Tensor>& weights, const std::vector<Tensor>& biases,
                    const std::vector<int64_t>& dilations) {
  check_float(kOp, x, "input");
  check_dim(kOp, x, 4, "input [N,C,H,W]");
  CSG_CHECK(!weights.empty() && weights.size() == biases.size() && weights.size() == dilations.size(), kOp,
            ": one weight, bias (or undefined) and dilation per branch, got ", weights.size(), ", ", biases.size(),
            " and ", dilations.size());
  for (size_t b = 0; b < weights.size(); ++b) {
    const Tensor& w = weights[b];
    check_float(kOp, w, "weight");
    check_same_device(kOp, x, w);
    check_same_dtype(kOp, x, w);
    CSG_CHECK(w.dim() == 4 && w.size(1) == x.size(1) && w.size(2) == 3 && w.size(3) == 3 &&
                  w.size(0) == weights[0].size(0),
              kOp, ": branch ", b, "'s weight must be [O,", x.size(1), ",3,3] with the O of branch 0, got ",
              w.describe(), " for input ", x.describe());
    check_channel_vector(kOp, w, 0, "O", biases[b], "bias", /*optional=*/true);
    CSG_CHECK(dilations[b] > 0, kOp, ": dilation of branch ", b, " must be positive, got ", dilations[b]);
  }
}

}  // namespace

Tensor dilated_conv_sum(const Tensor& x, const std::vector<Tensor>& weights, const std::vector<Tensor>& biases,
                        const std::vector<int64_t>& dilations) {
  check_branches(x, weights, biases, dilations);
  if (x.is_cuda()) {  // cuDNN's dilated convolutions
    Tensor out;
    for (size_t b = 0; b < weights.size(); ++b) {
      Conv2dOptions opt;
      opt.pad_h = opt.pad_w = opt.dilation_h = opt.dilation_w = dilations[b];
      Tensor y = conv2d(x, weights[b], biases[b], opt);
      out = out.defined() ? add(out, y) : y;
    }
    return out;
  }
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = weights[0].size(0);
  const int64_t B = static_cast<int64_t>(weights.size());
  // Wtaps [B*O*9, C]: row (b, o, kh, kw) holds weights[b][o, :, kh, kw].
  std::vector<Tensor> taps;
  for (const Tensor& w : weights) taps.push_back(w.permute({0, 2, 3, 1}).reshape({O * kTaps, C}));
  const Tensor wtaps = taps.size() == 1 ? taps[0] : cat(taps, 0);
  const Tensor z = matmul(wtaps.unsqueeze(0).expand({N, B * O * kTaps, C}), x.reshape({N, C, H * W}));
  Tensor y = tap_sum(z.reshape({N, B, O, kTaps, H, W}), dilations);
  for (const Tensor& bias : biases)
    if (bias.defined()) y = add(y, bias.reshape({1, O, 1, 1}));
  return y;
}

}  // namespace csg
