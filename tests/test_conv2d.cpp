// tests/test_conv2d.cpp — conv2d: forward and backward against naive loops (strides, padding,
// dilation, non-square kernels and inputs, bias or not, batches split into im2col groups),
// finite-difference gradients in double, CPU/CUDA parity, and the entry errors.
#include <cmath>

#include "tests/testing.h"
#ifdef CSG_WITH_CUDA
#endif

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_gradients_match;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

Conv2dOptions make_opt(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
  Conv2dOptions o;
  o.stride_h = sh, o.stride_w = sw, o.pad_h = ph, o.pad_w = pw, o.dilation_h = dh, o.dilation_w = dw;
  return o;
}

struct Case {
  const char* name;
  Shape x, w;  // [N,C,H,W], [O,C,KH,KW]
  Conv2dOptions opt;
  bool bias;
};

// The geometries the model uses, at toy sizes: ResNet 3x3 and strided 1x1 / 7x7, DeepLab's
// dilated 3x3 (2, 4; ASPP 6..24), plus non-square kernels, strides and inputs.
std::vector<Case> cases() {
  return {
      {"3x3 pad1", {2, 3, 7, 6}, {4, 3, 3, 3}, make_opt(1, 1, 1, 1, 1, 1), true},
      {"3x3 stride2 pad1", {2, 3, 7, 8}, {4, 3, 3, 3}, make_opt(2, 2, 1, 1, 1, 1), false},
      {"1x1 stride2", {2, 4, 6, 5}, {3, 4, 1, 1}, make_opt(2, 2, 0, 0, 1, 1), false},
      {"3x3 dilation2 pad2", {1, 2, 8, 7}, {3, 2, 3, 3}, make_opt(1, 1, 2, 2, 2, 2), true},
      {"3x3 dilation4 pad4 (ASPP-like)", {1, 2, 9, 10}, {2, 2, 3, 3}, make_opt(1, 1, 4, 4, 4, 4), true},
      {"3x2 kernel, stride (2,1), pad (1,0), dilation (1,2)", {2, 2, 7, 9}, {3, 2, 3, 2}, make_opt(2, 1, 1, 0, 1, 2),
       true},
      {"1x4 kernel, stride (1,3), pad (0,2)", {1, 3, 4, 11}, {2, 3, 1, 4}, make_opt(1, 3, 0, 2, 1, 1), false},
      {"5x5 stride3 pad (1,2), 1 output row", {2, 1, 3, 9}, {2, 1, 5, 5}, make_opt(3, 3, 1, 2, 1, 1), true},
  };
}

struct Grads {
  std::vector<double> dx, dw, db;
};

// The naive seven-loop convolution, reading the input through its index arithmetic alone.
std::vector<double> naive_forward(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w,
                                  const Shape& ws, const std::vector<double>* b, const Conv2dOptions& o, Shape* ys) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const int64_t OH = (H + 2 * o.pad_h - o.dilation_h * (KH - 1) - 1) / o.stride_h + 1;
  const int64_t OW = (W + 2 * o.pad_w - o.dilation_w * (KW - 1) - 1) / o.stride_w + 1;
  *ys = {N, O, OH, OW};
  std::vector<double> y(N * O * OH * OW);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? (*b)[oc] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * o.stride_h - o.pad_h + kh * o.dilation_h;
                const int64_t iw = ow * o.stride_w - o.pad_w + kw * o.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x[((n * C + c) * H + ih) * W + iw] * w[((oc * C + c) * KH + kh) * KW + kw];
              }
          y[((n * O + oc) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

// The same loops run backwards: every product x*w that fed y[n,o,oh,ow] sends dy back.
Grads naive_backward(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w, const Shape& ws,
                     const std::vector<double>& dy, const Conv2dOptions& o) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const int64_t OH = (H + 2 * o.pad_h - o.dilation_h * (KH - 1) - 1) / o.stride_h + 1;
  const int64_t OW = (W + 2 * o.pad_w - o.dilation_w * (KW - 1) - 1) / o.stride_w + 1;
  Grads g{std::vector<double>(x.size()), std::vector<double>(w.size()), std::vector<double>(O)};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double d = dy[((n * O + oc) * OH + oh) * OW + ow];
          g.db[oc] += d;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * o.stride_h - o.pad_h + kh * o.dilation_h;
                const int64_t iw = ow * o.stride_w - o.pad_w + kw * o.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t xi = ((n * C + c) * H + ih) * W + iw, wi = ((oc * C + c) * KH + kh) * KW + kw;
                g.dx[xi] += w[wi] * d;
                g.dw[wi] += x[xi] * d;
              }
        }
  return g;
}

double max_rel_diff(const std::vector<double>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double scale = 1e-30, err = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) err = std::max(err, std::fabs(got[i] - want[i]));
  return err / scale;
}

// Runs conv2d forward and backward (with dy = a fixed random tensor) in `dt` and compares
// output and all three gradients with the naive loops.
void check_against_naive(const Case& c, DType dt, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << c.name << " " << dtype_name(dt) << " x " << shape_str(c.x) << " w "
                                    << shape_str(c.w));
  const double tol = dt == DType::F64 ? 1e-12 : 2e-5;
  Tensor x = uniform(c.x, seed, dt).requires_grad_();
  Tensor w = uniform(c.w, seed + 1, dt).requires_grad_();
  Tensor b = c.bias ? uniform({c.w[0]}, seed + 2, dt).requires_grad_() : Tensor();
  Tensor y = conv2d(x, w, b, c.opt);
  std::vector<double> vx = x.to_vector(), vw = w.to_vector(), vb = c.bias ? b.to_vector() : std::vector<double>();
  Shape ys;
  std::vector<double> want = naive_forward(vx, c.x, vw, c.w, c.bias ? &vb : nullptr, c.opt, &ys);
  ASSERT_EQ(y.shape(), ys);
  EXPECT_LE(max_rel_diff(y.to_vector(), want), tol) << "forward";

  Tensor dy = uniform(ys, seed + 3, dt);
  y.backward(dy);
  Grads g = naive_backward(vx, c.x, vw, c.w, dy.to_vector(), c.opt);
  EXPECT_LE(max_rel_diff(x.grad().to_vector(), g.dx), tol) << "input gradient";
  EXPECT_LE(max_rel_diff(w.grad().to_vector(), g.dw), tol) << "weight gradient";
  if (c.bias) {
    EXPECT_LE(max_rel_diff(b.grad().to_vector(), g.db), tol) << "bias gradient";
  }
}

// Parity runs compare against full-precision CPU results, so their CUDA convolutions run without TF32.
Conv2dOptions exact(Conv2dOptions o) {
  o.numerics.tf32 = false;
  return o;
}

// A case's x, w and (when it has one) b, all requiring grad; `seed` advances per tensor.
Ins case_inputs(const Case& c, uint64_t& seed) {
  Tensor x = uniform(c.x, seed++).requires_grad_();
  Tensor w = uniform(c.w, seed++).requires_grad_();
  Tensor b = c.bias ? uniform({c.w[0]}, seed++).requires_grad_() : Tensor();
  return {x, w, b};
}

}  // namespace

TEST(Conv2d, ForwardAndBackwardMatchNaive) {
  uint64_t seed = 100;
  for (const Case& c : cases())
    for (DType dt : {DType::F64, DType::F32}) check_against_naive(c, dt, seed += 10);
}

// Large enough that the CPU path splits the batch into im2col groups (a 64 MB column buffer
// holds two of these images in double): groups of 2 and of 1 must agree with the loops.
TEST(Conv2d, BatchSplitIntoColumnGroupsMatchesNaive) {
  check_against_naive({"grouped batch", {3, 16, 150, 150}, {2, 16, 3, 3}, make_opt(1, 1, 1, 1, 1, 1), true},
                      DType::F64, 7);
}

TEST(Conv2d, HandComputedValues) {
  // x = 1..9 as [1,1,3,3], a 2x2 kernel of ones: each output is the sum of a 2x2 window.
  Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = ones({1, 1, 2, 2}, {DType::F64});
  EXPECT_EQ(conv2d(x, w, Tensor()).to_vector(), (std::vector<double>{12, 16, 24, 28}));
  // Padding 1, stride 2 and a bias of 0.5: windows at the corners see one, two or four values.
  Tensor b = from_vector(std::vector<double>{0.5}, {1});
  EXPECT_EQ(conv2d(x, w, b, make_opt(2, 2, 1, 1, 1, 1)).to_vector(), (std::vector<double>{1.5, 5.5, 11.5, 28.5}));
}

TEST(Conv2d, Gradients) {
  uint64_t seed = 300;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Ins inputs = case_inputs(c, seed);
    Conv2dOptions opt = c.opt;
    expect_gradients_match([opt](const Ins& in) { return conv2d(in[0], in[1], in[2], opt); }, inputs);
  }
}

// Backward computes only what is asked for; each subset must still be right.
TEST(Conv2d, GradientSubsets) {
  const Conv2dOptions opt = make_opt(2, 1, 1, 2, 1, 2);
  Tensor x = uniform({2, 2, 6, 7}, 41), w = uniform({3, 2, 3, 3}, 42), b = uniform({3}, 43);
  for (int mask = 1; mask < 8; ++mask) {
    SCOPED_TRACE(mask);
    Tensor xi = x.clone(), wi = w.clone(), bi = b.clone();
    if (mask & 1) xi.requires_grad_();
    if (mask & 2) wi.requires_grad_();
    if (mask & 4) bi.requires_grad_();
    expect_gradients_match([opt](const Ins& in) { return conv2d(in[0], in[1], in[2], opt); }, {xi, wi, bi});
    EXPECT_EQ(xi.grad().defined(), bool(mask & 1));
    EXPECT_EQ(wi.grad().defined(), bool(mask & 2));
    EXPECT_EQ(bi.grad().defined(), bool(mask & 4));
  }
}

TEST(Conv2d, NonContiguousInputs) {
  // x given as a permuted view of an NHWC buffer, w as a transposed view.
  Tensor x_nhwc = uniform({2, 5, 6, 3}, 51).requires_grad_();
  Tensor w_t = uniform({3, 4, 3, 3}, 52).requires_grad_();  // [C,O,KH,KW]
  const Conv2dOptions opt = make_opt(1, 1, 1, 1, 1, 1);
  auto f = [opt](const Ins& in) { return conv2d(in[0].permute({0, 3, 1, 2}), in[1].transpose(0, 1), Tensor(), opt); };
  Tensor y = f({x_nhwc, w_t});
  Tensor want = conv2d(x_nhwc.detach().permute({0, 3, 1, 2}).contiguous(), w_t.detach().transpose(0, 1).contiguous(),
                       Tensor(), opt);
  EXPECT_LE(csg::testing::max_abs_diff(y, want), 1e-12);
  expect_gradients_match(f, {x_nhwc, w_t});
}

TEST(Conv2d, Errors) {
  Tensor x = uniform({2, 3, 8, 8}, 1), w = uniform({4, 3, 3, 3}, 2);
  EXPECT_NO_THROW(conv2d(x, w, Tensor()));
  EXPECT_THROW(conv2d(uniform({3, 8, 8}, 1), w, Tensor()), Error);             // input rank
  EXPECT_THROW(conv2d(x, uniform({4, 3, 3}, 2), Tensor()), Error);             // weight rank
  EXPECT_THROW(conv2d(x, uniform({4, 2, 3, 3}, 2), Tensor()), Error);          // channels
  EXPECT_THROW(conv2d(x, w, uniform({3}, 3)), Error);                          // bias size
  EXPECT_THROW(conv2d(x, w, uniform({4}, 3, DType::F32)), Error);              // bias dtype
  EXPECT_THROW(conv2d(x, uniform({4, 3, 3, 3}, 2, DType::F32), Tensor()), Error);  // weight dtype
  EXPECT_THROW(conv2d(x, uniform({4, 3, 9, 3}, 2), Tensor()), Error);          // kernel taller than input
  EXPECT_THROW(conv2d(x, w, Tensor(), make_opt(1, 1, 0, 0, 4, 4)), Error);     // dilated kernel too wide
  EXPECT_THROW(conv2d(x, w, Tensor(), make_opt(0, 1, 0, 0, 1, 1)), Error);     // stride 0
  EXPECT_THROW(conv2d(x, w, Tensor(), make_opt(1, 1, -1, 0, 1, 1)), Error);    // negative padding
  EXPECT_THROW(conv2d(x, w, Tensor(), make_opt(1, 1, 0, 0, 0, 1)), Error);     // dilation 0
  EXPECT_THROW(conv2d(zeros({2, 3, 8, 8}, {DType::I64}), w, Tensor()), Error);  // integer input
  try {
    conv2d(x, uniform({4, 2, 3, 3}, 2), Tensor());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2,3,8,8]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4,2,3,3]"), std::string::npos) << e.what();
  }
}

TEST(Conv2d, CudaParity) {
  CSG_REQUIRE_CUDA();
  uint64_t seed = 500;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Ins inputs = case_inputs(c, seed);
    Conv2dOptions opt = exact(c.opt);
    expect_cuda_parity([opt](const Ins& in) { return conv2d(in[0], in[1], in[2], opt); }, inputs);
  }
  // Only the weight needs a gradient (frozen input), then only the input (frozen weight).
  Tensor x = uniform({2, 3, 9, 9}, 1), w = uniform({4, 3, 3, 3}, 2);
  const Conv2dOptions opt = exact(make_opt(1, 1, 2, 2, 2, 2));
  auto f = [opt](const Ins& in) { return conv2d(in[0], in[1], Tensor(), opt); };
  expect_cuda_parity(f, {x, w.clone().requires_grad_()});
  expect_cuda_parity(f, {x.clone().requires_grad_(), w});
  // A ResNet-sized layer: the algorithm search runs on realistic shapes, twice (cache hit).
  Tensor bx = uniform({4, 64, 28, 28}, 3).requires_grad_(), bw = uniform({64, 64, 3, 3}, 4, DType::F64, -0.1, 0.1);
  bw.requires_grad_();
  const Conv2dOptions pad1 = exact(make_opt(1, 1, 1, 1, 1, 1));
  for (int rep = 0; rep < 2; ++rep)
    expect_cuda_parity([pad1](const Ins& in) { return conv2d(in[0], in[1], Tensor(), pad1); }, {bx, bw}, 1e-3,
                       1e-4);
}

// Images from an offset view (the pointer 4-byte aligned, as in a chunked call) and the same
// shapes from an aligned buffer: the algorithm cache keys on alignment, so both run.
TEST(Conv2d, CudaOffsetPointersAndDeterministicMode) {
  CSG_REQUIRE_CUDA();
  Conv2dOptions pad1 = exact(make_opt(1, 1, 1, 1, 1, 1));
  Tensor x = uniform({3, 16, 14, 14}, 11), w = uniform({16, 16, 3, 3}, 12, DType::F64, -0.2, 0.2);
  auto f = [pad1](const Ins& in) { return conv2d(in[0].slice(0, 1, 3), in[1], Tensor(), pad1); };
  // The flat offset of image 1 is 16*14*14 floats: slice a flat buffer one float in instead.
  auto g = [&pad1](const Ins& in) {
    return conv2d(in[0].reshape({-1}).slice(0, 1, 1 + 2 * 16 * 14 * 14).reshape({2, 16, 14, 14}), in[1], Tensor(),
                  pad1);
  };
  expect_cuda_parity(f, {x.clone().requires_grad_(), w.clone().requires_grad_()}, 1e-4, 1e-4);
  expect_cuda_parity(g, {x.clone().requires_grad_(), w.clone().requires_grad_()}, 1e-4, 1e-4);
  pad1.numerics.deterministic = true;  // g's convolutions from here on
  expect_cuda_parity(g, {x.clone().requires_grad_(), w.clone().requires_grad_()}, 1e-4, 1e-4);
}

// With TF32 allowed (the default) results stay within TF32's rounding of the exact ones.
TEST(Conv2d, CudaTf32WithinTolerance) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({2, 32, 20, 20}, 7).requires_grad_();
  Tensor w = uniform({48, 32, 3, 3}, 8, DType::F64, -0.1, 0.1).requires_grad_();
  Tensor b = uniform({48}, 9).requires_grad_();
  const Conv2dOptions opt = make_opt(1, 1, 1, 1, 1, 1);
  expect_cuda_parity([opt](const Ins& in) { return conv2d(in[0], in[1], in[2], opt); }, {x, w, b}, 2e-2, 5e-3);
}

TEST(Conv2d, CudaDeviceErrors) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({1, 2, 5, 5}, 1, DType::F32), w = uniform({3, 2, 3, 3}, 2, DType::F32);
  EXPECT_THROW(conv2d(x.to(Device::CUDA), w, Tensor()), Error);
  EXPECT_THROW(conv2d(x.to(Device::CUDA), w.to(Device::CUDA), uniform({3}, 3, DType::F32)), Error);
  EXPECT_THROW(conv2d(uniform({1, 2, 5, 5}, 1).to(Device::CUDA), uniform({3, 2, 3, 3}, 2).to(Device::CUDA), Tensor()),
               Error);  // f64 on CUDA
}
