// tests/test_pool.cpp — max_pool2d, avg_pool2d, adaptive_avg_pool2d, global_avg_pool:
// forward against naive loops and PyTorch's numbers, gradients by finite differences,
// the first-maximum tie rule, errors, and CPU/CUDA parity.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "tests/expected_tensors.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_error_with;
using csg::testing::expect_gradients_match;
using csg::testing::max_abs_diff;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// Distinct values (a random permutation of 0..n-1, times 0.05): no ties anywhere, and no two
// values within a finite-difference step, so max pool is smooth around the test point.
Tensor scrambled(const Shape& shape, uint32_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.05 * static_cast<double>(i) - 1.0;
  std::mt19937 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[rng() % (i + 1)]);
  return from_vector(v, shape);
}

// (i * 7) mod 11 for i = 1..h*w: the input the PyTorch reference numbers below were made with.
Tensor mod_pattern(int64_t h, int64_t w) {
  std::vector<double> v(h * w);
  for (int64_t i = 0; i < h * w; ++i) v[i] = static_cast<double>(((i + 1) * 7) % 11);
  return from_vector(v, {1, 1, h, w});
}

Pool2dOptions pool_opts(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, bool ceil,
                        bool count_pad = true) {
  Pool2dOptions o;
  o.kernel_h = kh;
  o.kernel_w = kw;
  o.stride_h = sh;
  o.stride_w = sw;
  o.pad_h = ph;
  o.pad_w = pw;
  o.ceil_mode = ceil;
  o.count_include_pad = count_pad;
  return o;
}

// ---- naive references, written from the definitions (not from kernels/pool.h) -------------

int64_t naive_out_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil) {
  const double span = static_cast<double>(in + 2 * p - k) / static_cast<double>(s);
  int64_t out = static_cast<int64_t>(ceil ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil && (out - 1) * s >= in + p) --out;  // the last window must start inside input + left pad
  return out;
}

enum class Kind { Max, Avg };

// Pools x [N,C,H,W] by visiting every kernel position of every window.
std::vector<double> naive_pool(const Tensor& x, const Pool2dOptions& o, Kind kind, Shape* out_shape) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = naive_out_size(H, o.kernel_h, o.stride_h, o.pad_h, o.ceil_mode);
  const int64_t OW = naive_out_size(W, o.kernel_w, o.stride_w, o.pad_w, o.ceil_mode);
  *out_shape = {N, C, OH, OW};
  std::vector<double> xv = x.to_vector(), out;
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t inside = 0, padded = 0;
        for (int64_t i = 0; i < o.kernel_h; ++i)
          for (int64_t j = 0; j < o.kernel_w; ++j) {
            const int64_t r = oh * o.stride_h - o.pad_h + i, c = ow * o.stride_w - o.pad_w + j;
            if (r < H + o.pad_h && c < W + o.pad_w) ++padded;  // a padding position, not past it
            if (r < 0 || c < 0 || r >= H || c >= W) continue;
            const double v = xv[(p * H + r) * W + c];
            best = std::max(best, v);
            sum += v;
            ++inside;
          }
        if (kind == Kind::Max)
          out.push_back(best);
        else
          out.push_back(sum / static_cast<double>(o.count_include_pad ? padded : inside));
      }
  return out;
}

std::vector<double> naive_adaptive(const Tensor& x, int64_t OH, int64_t OW) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  std::vector<double> xv = x.to_vector(), out;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t h0 = static_cast<int64_t>(std::floor(double(oh * H) / OH));
        const int64_t h1 = static_cast<int64_t>(std::ceil(double((oh + 1) * H) / OH));
        const int64_t w0 = static_cast<int64_t>(std::floor(double(ow * W) / OW));
        const int64_t w1 = static_cast<int64_t>(std::ceil(double((ow + 1) * W) / OW));
        double sum = 0;
        for (int64_t r = h0; r < h1; ++r)
          for (int64_t c = w0; c < w1; ++c) sum += xv[(p * H + r) * W + c];
        out.push_back(sum / double((h1 - h0) * (w1 - w0)));
      }
  return out;
}

// Most pooling results here are exact sums of a few small numbers: 1e-12 unless a test says otherwise.
void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-12) {
  csg::testing::expect_values_near(t, want, tol);
}

// The windowed option sets every test sweeps: square and rectangular, padded, overlapping,
// ceil windows that do and do not run past input + pad.
std::vector<Pool2dOptions> window_options() {
  return {pool_opts(2, 2, 2, 2, 0, 0, false), pool_opts(2, 2, 2, 2, 0, 0, true),
          pool_opts(3, 3, 2, 2, 1, 1, false), pool_opts(3, 3, 2, 2, 1, 1, true),
          pool_opts(3, 2, 2, 1, 1, 0, true),  pool_opts(2, 3, 3, 2, 1, 1, true),
          pool_opts(3, 3, 1, 1, 1, 1, false), pool_opts(4, 3, 3, 2, 2, 1, true)};
}

std::string describe(const Pool2dOptions& o) {
  return detail::cat("kernel ", o.kernel_h, "x", o.kernel_w, " stride ", o.stride_h, "x", o.stride_w, " pad ",
                     o.pad_h, "x", o.pad_w, o.ceil_mode ? " ceil" : " floor",
                     o.count_include_pad ? " count_pad" : " no_count_pad");
}

}  // namespace

// ---- output sizes -----------------------------------------------------------------------------

TEST(Pool, OutputSizesFollowPyTorch) {
  // (H, kernel, stride, pad) -> (floor size, ceil size), from torch.nn.functional.max_pool2d.
  struct Case {
    int64_t h, k, s, p, floor_out, ceil_out;
  };
  for (const Case& c : std::vector<Case>{{5, 2, 2, 0, 2, 3},
                                         {4, 2, 2, 1, 3, 3},
                                         {6, 3, 2, 1, 3, 4},
                                         {7, 3, 3, 1, 3, 3},
                                         {2, 2, 2, 1, 2, 2},
                                         {5, 3, 3, 0, 1, 2},
                                         {1, 1, 2, 0, 1, 1},
                                         {6, 4, 3, 2, 3, 3}}) {
    Tensor x = zeros({1, 2, c.h, c.h + 1}, {DType::F64});
    for (bool ceil : {false, true}) {
      Pool2dOptions o = pool_opts(c.k, c.k, c.s, c.s, c.p, c.p, ceil);
      const int64_t want = ceil ? c.ceil_out : c.floor_out;
      EXPECT_EQ(max_pool2d(x, o).size(2), want) << describe(o) << " H " << c.h;
      EXPECT_EQ(avg_pool2d(x, o).size(2), want) << describe(o) << " H " << c.h;
      EXPECT_EQ(max_pool2d(x, o).size(3), naive_out_size(c.h + 1, c.k, c.s, c.p, ceil));
    }
  }
}

// ---- max pool ---------------------------------------------------------------------------------

TEST(MaxPool, ForwardMatchesNaiveLoops) {
  Tensor x = uniform({2, 3, 7, 6}, 11);
  for (const Pool2dOptions& o : window_options()) {
    Shape want_shape;
    std::vector<double> want = naive_pool(x, o, Kind::Max, &want_shape);
    Tensor y = max_pool2d(x, o);
    ASSERT_EQ(y.shape(), want_shape) << describe(o);
    expect_values(y, want, 0.0);
    Tensor yf = max_pool2d(x.to(DType::F32), o);
    EXPECT_EQ(yf.dtype(), DType::F32);
    expect_values(yf, std::vector<double>(want.begin(), want.end()), 1e-6);
  }
}

TEST(MaxPool, ValuesAndFirstMaximumMatchPyTorch) {
  // torch: max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True) on mod_pattern(6, 6),
  // whose values 0..10 repeat, so many windows hold ties.
  Tensor x = mod_pattern(6, 6).requires_grad_();
  Tensor y = max_pool2d(x, pool_opts(3, 3, 2, 2, 1, 1, true));
  expect_values(y, {7, 10, 9, 9, 10, 10, 9, 7, 10, 9, 10, 10, 8, 7, 10, 10});
  sum(y).backward();
  std::vector<double> want(36, 0.0);
  for (int64_t idx : {0, 2, 5, 5, 13, 13, 16, 11, 24, 27, 35, 35, 30, 33, 35, 35}) want[idx] += 1;
  expect_values(x.grad(), want);
}

TEST(MaxPool, TiesGoToTheFirstElementInScanOrder) {
  // A constant input: every window's maximum is tied across the whole window.
  Tensor x = full({1, 1, 4, 5}, 2.0, {DType::F64}).requires_grad_();
  sum(max_pool2d(x, pool_opts(3, 3, 1, 1, 0, 0, false))).backward();
  // Windows start at (0..1, 0..2): each sends its gradient to its top-left element.
  expect_values(x.grad(), {1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  // With padding the first element inside the input wins (padding never holds the max).
  x.zero_grad();
  sum(max_pool2d(x, pool_opts(2, 2, 2, 2, 1, 1, true))).backward();
  expect_values(x.grad(), {1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0});
}

TEST(MaxPool, NaNPropagates) {
  Tensor x = from_vector(std::vector<double>{1, NAN, 3, 4}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(max_pool2d(x, pool_opts(2, 2, 2, 2, 0, 0, false)).item()));
}

TEST(MaxPool, Gradients) {
  for (const Pool2dOptions& o : window_options()) {
    SCOPED_TRACE(describe(o));
    Tensor x = scrambled({2, 2, 7, 6}, 5).requires_grad_();
    expect_gradients_match([o](const Ins& in) { return max_pool2d(in[0], o); }, {x});
  }
  // A non-contiguous input (a transposed view) goes through contiguous() and back.
  Tensor x = scrambled({1, 2, 5, 6}, 6).requires_grad_();
  expect_gradients_match(
      [](const Ins& in) { return max_pool2d(in[0].transpose(2, 3), pool_opts(3, 3, 2, 2, 1, 1, true)); }, {x});
}

// The CPU backward scatters each output's gradient to its window's maximum, plane by plane; the
// per-element gather of kernels/pool.h (what the CUDA kernel runs) adds the same terms in the same
// order, so the two agree exactly. Overlapping 3x3 windows at stride 1 give an element up to 9 terms.
TEST(MaxPool, CpuGradientEqualsThePerElementGather) {
  const int64_t N = 2, C = 3, H = 7, W = 6;
  Tensor x = scrambled({N, C, H, W}, 7).to(DType::F32).requires_grad_();
  Generator gen(3);
  const Tensor gy = randn({N, C, H, W}, gen);
  sum(mul(max_pool2d(x, pool_opts(3, 3, 1, 1, 1, 1, false)), gy)).backward();
  PoolGeometry g;
  g.planes = N * C, g.in_h = H, g.in_w = W, g.out_h = H, g.out_w = W;
  g.kernel_h = g.kernel_w = 3, g.stride_h = g.stride_w = 1, g.pad_h = g.pad_w = 1;
  const Tensor xd = x.detach().contiguous();
  std::vector<float> y(N * C * H * W), want(N * C * H * W);
  std::vector<int64_t> argmax(y.size());
  for (int64_t i = 0; i < int64_t(y.size()); ++i) max_pool2d_output(xd.data<float>(), y.data(), argmax.data(), g, i);
  for (int64_t i = 0; i < int64_t(want.size()); ++i)
    max_pool2d_input_grad(gy.data<float>(), argmax.data(), want.data(), g, i);
  const std::vector<float> got = x.grad().to_float_vector();
  int multi = 0;  // elements that are the maximum of more than one window
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "element " << i;
    multi += std::count(argmax.begin(), argmax.end(), argmax[i]) > 1;
  }
  EXPECT_GT(multi, 0);
}

// The CPU forward walks an output row tap by tap (src/ops/pool.cpp); per output it must pick what
// the per-element window scan of kernels/pool.h picks, the element CUDA picks: the same value and
// the same argmax (seen through the gradient), on every window shape, with ties (values 0..4
// repeat) and NaNs (the first NaN of a window wins).
TEST(MaxPool, CpuRowsPickWhatThePerElementScanPicks) {
  const int64_t N = 2, C = 3, H = 9, W = 11;
  std::vector<double> v(N * C * H * W);
  std::mt19937 rng(17);
  for (double& e : v) e = static_cast<double>(rng() % 5);
  for (int i = 0; i < 12; ++i) v[rng() % v.size()] = NAN;
  v[0] = v[1] = v[W] = v[W + 1] = NAN;  // several NaNs in one window: the first must win
  for (const Pool2dOptions& o : window_options()) {
    SCOPED_TRACE(describe(o));
    Tensor x = from_vector(v, {N, C, H, W}).to(DType::F32).requires_grad_();
    Tensor y = max_pool2d(x, o);
    Generator gen(5);
    const Tensor gy = randn(y.shape(), gen);
    sum(mul(y, gy)).backward();
    PoolGeometry g;
    g.planes = N * C, g.in_h = H, g.in_w = W, g.out_h = y.size(2), g.out_w = y.size(3);
    g.kernel_h = o.kernel_h, g.kernel_w = o.kernel_w, g.stride_h = o.stride_h, g.stride_w = o.stride_w;
    g.pad_h = o.pad_h, g.pad_w = o.pad_w;
    const Tensor xd = x.detach().contiguous();
    std::vector<float> want_y(y.numel()), want_dx(x.numel());
    std::vector<int64_t> argmax(want_y.size());
    for (int64_t i = 0; i < y.numel(); ++i) max_pool2d_output(xd.data<float>(), want_y.data(), argmax.data(), g, i);
    for (int64_t i = 0; i < x.numel(); ++i)
      max_pool2d_input_grad(gy.data<float>(), argmax.data(), want_dx.data(), g, i);
    const std::vector<float> got_y = y.detach().to_float_vector(), got_dx = x.grad().to_float_vector();
    int nans = 0;
    for (size_t i = 0; i < want_y.size(); ++i) {
      nans += std::isnan(want_y[i]);
      if (std::isnan(want_y[i])) EXPECT_TRUE(std::isnan(got_y[i])) << "output " << i;
      else EXPECT_EQ(got_y[i], want_y[i]) << "output " << i;
    }
    EXPECT_GT(nans, 0);
    for (size_t i = 0; i < want_dx.size(); ++i) {
      if (std::isnan(want_dx[i])) EXPECT_TRUE(std::isnan(got_dx[i])) << "input " << i;
      else EXPECT_EQ(got_dx[i], want_dx[i]) << "input " << i << ": another element was picked";
    }
  }
}

// ---- average pool -----------------------------------------------------------------------------

TEST(AvgPool, ForwardMatchesNaiveLoops) {
  Tensor x = uniform({2, 3, 7, 6}, 12);
  for (Pool2dOptions o : window_options())
    for (bool count_pad : {true, false}) {
      o.count_include_pad = count_pad;
      Shape want_shape;
      std::vector<double> want = naive_pool(x, o, Kind::Avg, &want_shape);
      Tensor y = avg_pool2d(x, o);
      ASSERT_EQ(y.shape(), want_shape) << describe(o);
      SCOPED_TRACE(describe(o));
      expect_values(y, want, 1e-14);
      expect_values(avg_pool2d(x.to(DType::F32), o), want, 1e-6);
    }
}

TEST(AvgPool, ValuesMatchPyTorch) {
  // torch.nn.functional.avg_pool2d on mod_pattern inputs. In the 6x6 ceil case the last
  // window row/column runs past input + pad: those positions are not counted even with
  // count_include_pad (divisor 6 or 4 at the edge instead of 9).
  Tensor x66 = mod_pattern(6, 6);
  expect_values(avg_pool2d(x66, pool_opts(3, 3, 2, 2, 1, 1, true, false)),
                {4.0, 5.333333333333, 4.666666666667, 8.0, 4.666666666667, 4.777777777778, 4.111111111111, 5.0,
                 6.166666666667, 4.444444444444, 5.0, 4.666666666667, 6.0, 3.666666666667, 6.666666666667, 10.0},
                1e-11);
  expect_values(avg_pool2d(x66, pool_opts(3, 3, 2, 2, 1, 1, true, true)),
                {1.777777777778, 3.555555555556, 3.111111111111, 2.666666666667, 3.111111111111, 4.777777777778,
                 4.111111111111, 2.5, 4.111111111111, 4.444444444444, 5.0, 2.333333333333, 2.0, 1.833333333333,
                 3.333333333333, 2.5},
                1e-11);
  Tensor x54 = mod_pattern(5, 4);
  expect_values(avg_pool2d(x54, pool_opts(3, 2, 2, 1, 1, 0, true, false)),
                {5.25, 6.75, 5.5, 6.0, 5.666666666667, 3.5, 6.75, 5.5, 4.25}, 1e-11);
  expect_values(avg_pool2d(x54, pool_opts(3, 2, 2, 1, 1, 0, true, true)),
                {3.5, 4.5, 3.666666666667, 6.0, 5.666666666667, 3.5, 4.5, 3.666666666667, 2.833333333333}, 1e-11);

  // Gradient of sum(avg_pool2d(x, 3, 2, 1, ceil_mode=True)) from torch.
  Tensor xg = x66.clone().requires_grad_();
  sum(avg_pool2d(xg, pool_opts(3, 3, 2, 2, 1, 1, true, true))).backward();
  const double a = 1.0 / 9, b = 2.0 / 9, c = 0.277777777778, d = 4.0 / 9, e = 0.555555555556, f = 0.694444444444;
  expect_values(xg.grad(), {a, b, a, b, a, c, b, d, b, d, b, e, a, b, a, b, a, c,
                            b, d, b, d, b, e, a, b, a, b, a, c, c, e, c, e, c, f},
                1e-11);
}

TEST(AvgPool, Gradients) {
  for (Pool2dOptions o : window_options())
    for (bool count_pad : {true, false}) {
      o.count_include_pad = count_pad;
      SCOPED_TRACE(describe(o));
      Tensor x = uniform({2, 2, 7, 6}, 13).requires_grad_();
      expect_gradients_match([o](const Ins& in) { return avg_pool2d(in[0], o); }, {x});
    }
}

// ---- adaptive and global average pool ----------------------------------------------------------

TEST(AdaptiveAvgPool, ForwardMatchesNaiveAndPyTorch) {
  // torch.nn.functional.adaptive_avg_pool2d on mod_pattern inputs.
  expect_values(adaptive_avg_pool2d(mod_pattern(7, 5), 3, 2),
                {5.0, 5.555555555556, 4.111111111111, 5.888888888889, 4.444444444444, 5.0}, 1e-11);
  expect_values(adaptive_avg_pool2d(mod_pattern(3, 2), 4, 3),  // more outputs than inputs
                {7.0, 5.0, 3.0, 8.5, 6.5, 4.5, 6.0, 6.75, 7.5, 2.0, 5.5, 9.0}, 1e-11);
  Tensor x = uniform({2, 3, 7, 5}, 14);
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {1, 1}, {7, 5}, {4, 4}, {9, 2}}) {
    Tensor y = adaptive_avg_pool2d(x, oh, ow);
    ASSERT_EQ(y.shape(), (Shape{2, 3, oh, ow}));
    expect_values(y, naive_adaptive(x, oh, ow), 1e-14);
  }
  // Output == input size is the identity.
  EXPECT_EQ(max_abs_diff(adaptive_avg_pool2d(x, 7, 5), x), 0.0);
}

TEST(AdaptiveAvgPool, Gradients) {
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {1, 1}, {4, 4}, {9, 2}}) {
    SCOPED_TRACE(detail::cat(oh, "x", ow));
    Tensor x = uniform({2, 2, 7, 5}, 15).requires_grad_();
    expect_gradients_match([oh = oh, ow = ow](const Ins& in) { return adaptive_avg_pool2d(in[0], oh, ow); }, {x});
  }
}

TEST(GlobalAvgPool, ValuesAndGradients) {
  Tensor x = uniform({2, 3, 4, 5}, 16).requires_grad_();
  Tensor y = global_avg_pool(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  std::vector<double> xv = x.to_vector(), yv = y.to_vector();
  for (int64_t p = 0; p < 6; ++p) {
    double s = 0;
    for (int64_t i = 0; i < 20; ++i) s += xv[p * 20 + i];
    EXPECT_NEAR(yv[p], s / 20, 1e-14);
  }
  expect_gradients_match([](const Ins& in) { return global_avg_pool(in[0]); }, {x});
}

// ---- errors -----------------------------------------------------------------------------------

TEST(Pool, Errors) {
  Tensor x = zeros({1, 2, 5, 5});
  EXPECT_THROW(max_pool2d(zeros({2, 5, 5}), pool_opts(2, 2, 2, 2, 0, 0, false)), Error);  // rank
  EXPECT_THROW(avg_pool2d(zeros({1, 1, 2, 5, 5}), pool_opts(2, 2, 2, 2, 0, 0, false)), Error);
  EXPECT_THROW(adaptive_avg_pool2d(zeros({2, 5}), 1, 1), Error);
  EXPECT_THROW(global_avg_pool(zeros({2, 5})), Error);
  EXPECT_THROW(max_pool2d(x, pool_opts(0, 2, 2, 2, 0, 0, false)), Error);   // kernel 0
  EXPECT_THROW(max_pool2d(x, pool_opts(2, 2, 0, 2, 0, 0, false)), Error);   // stride 0
  EXPECT_THROW(max_pool2d(x, pool_opts(2, 2, 2, 2, 2, 0, false)), Error);   // pad > kernel/2
  EXPECT_THROW(avg_pool2d(x, pool_opts(3, 3, 1, 1, -1, 0, false)), Error);  // negative pad
  EXPECT_THROW(avg_pool2d(x, pool_opts(6, 6, 1, 1, 0, 0, false)), Error);   // kernel larger than input
  EXPECT_THROW(adaptive_avg_pool2d(x, 0, 2), Error);
  EXPECT_THROW(max_pool2d(zeros({1, 2, 0, 5}), pool_opts(1, 1, 1, 1, 0, 0, false)), Error);  // empty plane
  EXPECT_THROW(max_pool2d(zeros({1, 2, 4, 4}, {DType::I64}), pool_opts(2, 2, 2, 2, 0, 0, false)), Error);
  try {
    max_pool2d(zeros({2, 5, 5}), pool_opts(2, 2, 2, 2, 0, 0, false));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_pool2d"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2,5,5]"), std::string::npos) << e.what();
  }
}

TEST(Pool, CudaRejectsDouble) {
  CSG_REQUIRE_CUDA();
  Tensor x = zeros({1, 1, 4, 4}, {DType::F64}).to(Device::CUDA);  // fill_ refuses f64 on CUDA
  expect_error_with([&] { max_pool2d(x, pool_opts(2, 2, 2, 2, 0, 0, false)); }, {"max_pool2d", "float32"});
  expect_error_with([&] { avg_pool2d(x, pool_opts(2, 2, 2, 2, 0, 0, false)); }, {"avg_pool2d", "float32"});
  expect_error_with([&] { adaptive_avg_pool2d(x, 2, 2); }, {"adaptive_avg_pool2d", "float32"});
}

// ---- CUDA parity ------------------------------------------------------------------------------

TEST(Pool, CudaParity) {
  CSG_REQUIRE_CUDA();
  for (Pool2dOptions o : window_options()) {
    SCOPED_TRACE(describe(o));
    Tensor xs = scrambled({2, 3, 13, 11}, 21).requires_grad_();
    expect_cuda_parity([o](const Ins& in) { return max_pool2d(in[0], o); }, {xs});
    for (bool count_pad : {true, false}) {
      o.count_include_pad = count_pad;
      Tensor x = uniform({2, 3, 13, 11}, 22).requires_grad_();
      expect_cuda_parity([o](const Ins& in) { return avg_pool2d(in[0], o); }, {x}, 1e-5, 1e-5);
    }
  }
  Tensor x = uniform({2, 3, 13, 11}, 23).requires_grad_();
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {1, 1}, {5, 7}, {20, 3}})
    expect_cuda_parity([oh = oh, ow = ow](const Ins& in) { return adaptive_avg_pool2d(in[0], oh, ow); }, {x}, 1e-5,
                       1e-5);
  expect_cuda_parity([](const Ins& in) { return global_avg_pool(in[0]); }, {x}, 1e-5, 1e-5);
}

TEST(Pool, CudaMaxPoolTiesMatchTheCpu) {
  CSG_REQUIRE_CUDA();
  // Inputs full of ties (values 0..10 repeating, and a constant plane): the gradient must
  // land on the same elements on both devices.
  for (Tensor x : {mod_pattern(9, 8).to(DType::F32), full({1, 1, 9, 8}, 1.0)}) {
    for (const Pool2dOptions& o : window_options()) {
      SCOPED_TRACE(describe(o));
      Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::CUDA).requires_grad_();
      Tensor yc = max_pool2d(xc, o), yg = max_pool2d(xg, o);
      EXPECT_EQ(max_abs_diff(yc, yg), 0.0);
      sum(yc).backward();
      sum(yg).backward();
      EXPECT_EQ(max_abs_diff(xc.grad(), xg.grad()), 0.0);
    }
  }
}
