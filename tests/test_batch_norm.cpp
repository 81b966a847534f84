// tests/test_batch_norm.cpp — batch_norm in Train / Eval / Frozen modes: forward and
// running-stat updates against naive loops, hand values and PyTorch's numbers, gradients by
// finite differences (4-D and 2-D, with and without affine), errors, CPU/CUDA parity.
#include <cmath>

#include "tests/expected_tensors.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::expect_cuda_parity;
using csg::testing::expect_error_with;
using csg::testing::expect_gradients_match;
using csg::testing::expect_values_near;
using csg::testing::max_abs_diff;
using csg::testing::uniform;
using Ins = std::vector<Tensor>;

namespace {

// Naive batch norm of x [N,C,...] with per-channel statistics computed (train) or given (eval).
struct NaiveBn {
  std::vector<double> y, batch_mean, batch_var_biased, batch_var_unbiased;
};

NaiveBn naive_batch_norm(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<double>* fixed_mean,
                         const std::vector<double>* fixed_var, double eps) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  std::vector<double> xv = x.to_vector();
  std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>(C, 1.0);
  std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>(C, 0.0);
  NaiveBn r;
  r.y.resize(xv.size());
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) s += xv[(n * C + c) * S + i];
    const double mean = s / (N * S);
    double sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) sq += std::pow(xv[(n * C + c) * S + i] - mean, 2);
    r.batch_mean.push_back(mean);
    r.batch_var_biased.push_back(sq / (N * S));
    r.batch_var_unbiased.push_back(sq / (N * S - 1));
    const double mu = fixed_mean ? (*fixed_mean)[c] : mean;
    const double var = fixed_var ? (*fixed_var)[c] : sq / (N * S);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        r.y[k] = (xv[k] - mu) / std::sqrt(var + eps) * wv[c] + bv[c];
      }
  }
  return r;
}

Tensor positive(const Shape& shape, uint64_t seed) { return uniform(shape, seed, DType::F64, 0.5, 2.0); }

const BatchNormMode kModes[] = {BatchNormMode::Train, BatchNormMode::Eval, BatchNormMode::Frozen};
const char* mode_name(BatchNormMode m) {
  return m == BatchNormMode::Train ? "Train" : m == BatchNormMode::Eval ? "Eval" : "Frozen";
}

}  // namespace

// ---- forward and running statistics ------------------------------------------------------------

TEST(BatchNorm, TrainForwardAndRunningStatsMatchNaive) {
  for (Shape shape : {Shape{3, 4, 5, 6}, Shape{7, 5}}) {
    const int64_t C = shape[1];
    Tensor x = uniform(shape, 1, DType::F64, -2, 3);
    Tensor w = uniform({C}, 2), b = uniform({C}, 3);
    Tensor rm = uniform({C}, 4), rv = positive({C}, 5);
    std::vector<double> rm0 = rm.to_vector(), rv0 = rv.to_vector();
    const double momentum = 0.3, eps = 1e-4;
    Tensor y = batch_norm(x, w, b, rm, rv, BatchNormMode::Train, momentum, eps);
    NaiveBn want = naive_batch_norm(x, w, b, nullptr, nullptr, eps);
    ASSERT_EQ(y.shape(), shape);
    expect_values_near(y, want.y, 1e-12);
    // PyTorch's update: running = (1-momentum)*running + momentum*batch, unbiased variance.
    for (int64_t c = 0; c < C; ++c) {
      EXPECT_NEAR(rm.to_vector()[c], (1 - momentum) * rm0[c] + momentum * want.batch_mean[c], 1e-13);
      EXPECT_NEAR(rv.to_vector()[c], (1 - momentum) * rv0[c] + momentum * want.batch_var_unbiased[c], 1e-13);
    }
    // Float on the CPU agrees with the double result.
    Tensor rmf = from_vector(rm0, {C}).to(DType::F32);
    Tensor rvf = from_vector(rv0, {C}).to(DType::F32);
    Tensor yf = batch_norm(x.to(DType::F32), w.to(DType::F32), b.to(DType::F32), rmf, rvf, BatchNormMode::Train,
                           momentum, eps);
    EXPECT_LT(max_abs_diff(yf, y), 1e-5);
    EXPECT_LT(max_abs_diff(rmf, rm), 1e-6);
    EXPECT_LT(max_abs_diff(rvf, rv), 1e-5);
  }
}

TEST(BatchNorm, RunningStatsHandValues) {
  // One channel, x = {1, 2, 3, 6}: mean 3, biased variance 14/4, unbiased 14/3.
  Tensor x = from_vector(std::vector<double>{1, 2, 3, 6}, {4, 1});
  Tensor rm = zeros({1}, {DType::F64}), rv = ones({1}, {DType::F64});
  const uint64_t v0 = rm.storage().version(), w0 = rv.storage().version();
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, BatchNormMode::Train, 0.1, 1e-5);
  EXPECT_NEAR(rm.item(), 0.9 * 0 + 0.1 * 3, 1e-15);
  EXPECT_NEAR(rv.item(), 0.9 * 1 + 0.1 * 14.0 / 3, 1e-15);
  const double rstd = 1 / std::sqrt(3.5 + 1e-5);
  expect_values_near(y, {-2 * rstd, -1 * rstd, 0, 3 * rstd}, 1e-14);
  // The update is an in-place write: the storage versions moved.
  EXPECT_GT(rm.storage().version(), v0);
  EXPECT_GT(rv.storage().version(), w0);
  // A second step compounds: running = 0.9*running + 0.1*batch again.
  batch_norm(x, Tensor(), Tensor(), rm, rv, BatchNormMode::Train, 0.1, 1e-5);
  EXPECT_NEAR(rm.item(), 0.9 * 0.3 + 0.3, 1e-15);
  EXPECT_NEAR(rv.item(), 0.9 * (0.9 + 1.4 / 3) + 1.4 / 3, 1e-15);
}

TEST(BatchNorm, TrainMatchesPyTorch) {
  // torch.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.25, eps=1e-3)
  // with x = (arange(1, 25) * 7 % 11).reshape(2, 3, 2, 2).
  std::vector<double> xv(24);
  for (int i = 0; i < 24; ++i) xv[i] = ((i + 1) * 7) % 11;
  Tensor x = from_vector(xv, {2, 3, 2, 2});
  Tensor w = from_vector(std::vector<double>{0.5, -1.0, 2.0}, {3});
  Tensor b = from_vector(std::vector<double>{0.1, 0.2, -0.3}, {3});
  Tensor rm = from_vector(std::vector<double>{0.5, -0.5, 1.0}, {3});
  Tensor rv = from_vector(std::vector<double>{1.0, 2.0, 0.5}, {3});
  Tensor y = batch_norm(x, w, b, rm, rv, BatchNormMode::Train, 0.25, 1e-3);
  expect_values_near(y,
                {0.294540329816,  -0.397158620641, 0.813314542659,  0.121615592202,  1.136996865282,
                 -1.04932915371,  0.2,             1.44932915371,   2.380333433021,  -0.386462368807,
                 -3.153258170636, 1.688634482564,  -0.397158620641, 0.813314542659,  0.121615592202,
                 -0.570083358255, -1.04932915371,  0.2,             1.44932915371,   -0.736996865282,
                 -0.386462368807, -3.153258170636, 1.688634482564,  -1.078161319264},
                1e-11);
  expect_values_near(rm, {1.84375, 0.875, 1.78125}, 1e-14);
  expect_values_near(rv, {3.138392857142857, 4.428571428571429, 2.763392857142857}, 1e-14);
}

TEST(BatchNorm, EvalAndFrozenForwardUseRunningStats) {
  for (Shape shape : {Shape{2, 3, 4, 5}, Shape{6, 3}}) {
    Tensor x = uniform(shape, 6);
    Tensor w = uniform({3}, 7), b = uniform({3}, 8), rm = uniform({3}, 9), rv = positive({3}, 10);
    std::vector<double> mean = rm.to_vector(), var = rv.to_vector();
    NaiveBn want = naive_batch_norm(x, w, b, &mean, &var, 1e-5);
    for (BatchNormMode mode : {BatchNormMode::Eval, BatchNormMode::Frozen}) {
      SCOPED_TRACE(mode_name(mode));
      const uint64_t version = rm.storage().version();
      expect_values_near(batch_norm(x, w, b, rm, rv, mode), want.y, 1e-12);
      EXPECT_EQ(rm.to_vector(), mean);  // running stats untouched
      EXPECT_EQ(rv.to_vector(), var);
      EXPECT_EQ(rm.storage().version(), version);
    }
    NaiveBn plain = naive_batch_norm(x, Tensor(), Tensor(), &mean, &var, 1e-5);
    expect_values_near(batch_norm(x, Tensor(), Tensor(), rm, rv, BatchNormMode::Eval), plain.y, 1e-12);
  }
}

TEST(BatchNorm, NonContiguousRunningStatsAreUpdatedInPlace) {
  // Running stats that are strided views of a larger buffer receive the update.
  Tensor buffer = zeros({2, 3}, {DType::F64});
  Tensor rm = buffer.select(0, 0);  // row 0 of the buffer; row 1 must stay untouched
  Tensor strided = zeros({6}, {DType::F64});
  Tensor rv_strided = strided.slice(0, 0, 6, 2);  // stride 2
  Tensor x = uniform({4, 3, 2, 2}, 11);
  NaiveBn want = naive_batch_norm(x, Tensor(), Tensor(), nullptr, nullptr, 1e-5);
  batch_norm(x, Tensor(), Tensor(), rm, rv_strided, BatchNormMode::Train, 0.5);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(buffer.to_vector()[c], 0.5 * want.batch_mean[c], 1e-14);
    EXPECT_NEAR(strided.to_vector()[2 * c], 0.5 * want.batch_var_unbiased[c], 1e-14);
    EXPECT_EQ(strided.to_vector()[2 * c + 1], 0.0);
  }
  EXPECT_EQ(buffer.select(0, 1).to_vector(), std::vector<double>(3, 0.0));
}

// ---- gradients --------------------------------------------------------------------------------

TEST(BatchNorm, TrainGradients) {
  for (Shape shape : {Shape{3, 2, 3, 2}, Shape{5, 3}}) {
    const int64_t C = shape[1];
    for (bool affine : {true, false}) {
      SCOPED_TRACE(detail::cat(shape_str(shape), affine ? " affine" : " no affine"));
      Tensor x = uniform(shape, 20, DType::F64, -2, 2).requires_grad_();
      Tensor w = affine ? uniform({C}, 21).requires_grad_() : Tensor();
      Tensor b = affine ? uniform({C}, 22).requires_grad_() : Tensor();
      Tensor rm = zeros({C}, {DType::F64}), rv = ones({C}, {DType::F64});
      expect_gradients_match(
          [rm, rv](const Ins& in) { return batch_norm(in[0], in[1], in[2], rm, rv, BatchNormMode::Train); },
          {x, w, b}, 1e-6, 1e-6, 1e-5);
    }
  }
  // Only the parameters require grad (x is a constant), and a non-contiguous x.
  Tensor x = uniform({2, 3, 3, 2}, 23);
  Tensor w = uniform({3}, 24).requires_grad_(), b = uniform({3}, 25).requires_grad_();
  Tensor rm = zeros({3}, {DType::F64}), rv = ones({3}, {DType::F64});
  expect_gradients_match(
      [x, rm, rv](const Ins& in) { return batch_norm(x, in[0], in[1], rm, rv, BatchNormMode::Train); }, {w, b});
  Tensor xt = uniform({2, 3, 2, 3}, 26).requires_grad_();
  expect_gradients_match(
      [rm, rv](const Ins& in) {
        return batch_norm(in[0].transpose(2, 3), in[1], Tensor(), rm, rv, BatchNormMode::Train);
      },
      {xt, uniform({3}, 27).requires_grad_()}, 1e-6, 1e-6, 1e-5);
}

TEST(BatchNorm, EvalGradients) {
  for (Shape shape : {Shape{3, 2, 3, 2}, Shape{5, 3}}) {
    const int64_t C = shape[1];
    for (bool affine : {true, false}) {
      SCOPED_TRACE(detail::cat(shape_str(shape), affine ? " affine" : " no affine"));
      Tensor x = uniform(shape, 30).requires_grad_();
      Tensor w = affine ? uniform({C}, 31).requires_grad_() : Tensor();
      Tensor b = affine ? uniform({C}, 32).requires_grad_() : Tensor();
      Tensor rm = uniform({C}, 33), rv = positive({C}, 34);
      expect_gradients_match(
          [rm, rv](const Ins& in) { return batch_norm(in[0], in[1], in[2], rm, rv, BatchNormMode::Eval); },
          {x, w, b});
    }
  }
}

TEST(BatchNorm, FrozenGivesNoGradientToWeightAndBias) {
  for (Shape shape : {Shape{3, 2, 3, 2}, Shape{5, 2}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = uniform(shape, 40).requires_grad_();
    Tensor w = uniform({2}, 41).requires_grad_(), b = uniform({2}, 42).requires_grad_();
    Tensor rm = uniform({2}, 43), rv = positive({2}, 44);
    // x's gradient is the Eval one: dy * w / sqrt(rv + eps).
    expect_gradients_match(
        [w, b, rm, rv](const Ins& in) { return batch_norm(in[0], w, b, rm, rv, BatchNormMode::Frozen); }, {x});
    x.zero_grad();
    Tensor y = batch_norm(x, w, b, rm, rv, BatchNormMode::Frozen);
    sum(y).backward();
    EXPECT_FALSE(w.grad().defined());
    EXPECT_FALSE(b.grad().defined());
    ASSERT_TRUE(x.grad().defined());
    std::vector<double> gx = x.grad().to_vector(), wv = w.to_vector(), vv = rv.to_vector();
    const int64_t S = x.numel() / (shape[0] * 2);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = (i / S) % 2;
      EXPECT_NEAR(gx[i], wv[c] / std::sqrt(vv[c] + 1e-5), 1e-14);
    }
    // Same values as Eval mode.
    EXPECT_EQ(max_abs_diff(y, batch_norm(x, w, b, rm, rv, BatchNormMode::Eval)), 0.0);
  }
  // When only the parameters require grad, a Frozen output is a constant.
  Tensor w = uniform({2}, 45).requires_grad_();
  Tensor y = batch_norm(uniform({4, 2}, 46), w, Tensor(), zeros({2}, {DType::F64}), ones({2}, {DType::F64}),
                        BatchNormMode::Frozen);
  EXPECT_FALSE(y.requires_grad());
}

TEST(BatchNorm, EvalBackwardUsesTheForwardStatistics) {
  // The running stats change (a Train step) between the Eval forward and its backward.
  Tensor x = uniform({3, 2, 2, 2}, 50).requires_grad_();
  Tensor w = uniform({2}, 51).requires_grad_();
  Tensor rm = uniform({2}, 52), rv = positive({2}, 53);
  std::vector<double> var0 = rv.to_vector(), wv = w.to_vector();
  Tensor y = batch_norm(x, w, Tensor(), rm, rv, BatchNormMode::Eval);
  batch_norm(uniform({3, 2, 2, 2}, 54, DType::F64, 5, 9), Tensor(), Tensor(), rm, rv, BatchNormMode::Train, 0.9);
  ASSERT_NE(rv.to_vector(), var0);
  sum(y).backward();
  std::vector<double> gx = x.grad().to_vector();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 4) % 2;
    EXPECT_NEAR(gx[i], wv[c] / std::sqrt(var0[c] + 1e-5), 1e-14);
  }
}

// ---- errors -----------------------------------------------------------------------------------

TEST(BatchNorm, Errors) {
  Tensor x = zeros({2, 3, 4, 4}), w = ones({3}), b = zeros({3}), rm = zeros({3}), rv = ones({3});
  const auto mode = BatchNormMode::Train;
  EXPECT_THROW(batch_norm(zeros({2, 3, 4}), w, b, rm, rv, mode), Error);         // rank 3
  EXPECT_THROW(batch_norm(zeros({3}), w, b, rm, rv, mode), Error);               // rank 1
  EXPECT_THROW(batch_norm(zeros({2, 3, 4, 4, 1}), w, b, rm, rv, mode), Error);   // rank 5
  EXPECT_THROW(batch_norm(x, ones({4}), b, rm, rv, mode), Error);                // weight channels
  EXPECT_THROW(batch_norm(x, w, zeros({2}), rm, rv, mode), Error);               // bias channels
  EXPECT_THROW(batch_norm(x, w, b, zeros({4}), rv, mode), Error);                // running_mean channels
  EXPECT_THROW(batch_norm(x, w, b, rm, ones({1, 3}), BatchNormMode::Eval), Error);  // running_var rank
  EXPECT_THROW(batch_norm(x, w, b, Tensor(), rv, BatchNormMode::Eval), Error);   // running stats required
  EXPECT_THROW(batch_norm(x, w, b, rm, Tensor(), mode), Error);
  EXPECT_THROW(batch_norm(x, ones({3}, {DType::F64}), b, rm, rv, mode), Error);  // dtype mismatch
  EXPECT_THROW(batch_norm(x, w, b, rm, ones({3}, {DType::F64}), mode), Error);
  EXPECT_THROW(batch_norm(zeros({2, 3}, {DType::I64}), w, b, rm, rv, mode), Error);
  EXPECT_THROW(batch_norm(x, w, b, zeros({3}).requires_grad_(), rv, mode), Error);  // buffers never require grad
  EXPECT_THROW(batch_norm(x, w, b, rm, rv, mode, 0.1, -1.0), Error);             // negative eps
  EXPECT_THROW(batch_norm(zeros({1, 3}), w, b, rm, rv, mode), Error);            // one value per channel
  EXPECT_THROW(batch_norm(zeros({1, 3, 1, 1}), w, b, rm, rv, mode), Error);
  EXPECT_NO_THROW(batch_norm(zeros({1, 3}), w, b, rm, rv, BatchNormMode::Eval));  // fine with fixed stats
  try {
    batch_norm(x, ones({4}), b, rm, rv, mode);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_norm"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos) << e.what();
  }
}

TEST(BatchNorm, WrongDeviceErrors) {
  CSG_REQUIRE_CUDA();
  Tensor x = zeros({2, 3, 4, 4}), w = ones({3}), b = zeros({3}), rm = zeros({3}), rv = ones({3});
  Tensor xg = x.to(Device::CUDA);
  EXPECT_THROW(batch_norm(xg, w, b, rm.to(Device::CUDA), rv.to(Device::CUDA), BatchNormMode::Train), Error);
  EXPECT_THROW(batch_norm(xg, w.to(Device::CUDA), b.to(Device::CUDA), rm, rv.to(Device::CUDA), BatchNormMode::Eval),
               Error);
  EXPECT_THROW(batch_norm(x, w.to(Device::CUDA), b, rm, rv, BatchNormMode::Frozen), Error);
  // f64 on CUDA: made on the CPU and moved (fill_ refuses f64 on CUDA), so that the error
  // comes from batch_norm's own check.
  Tensor xd = zeros({2, 3}, {DType::F64}).to(Device::CUDA);
  expect_error_with(
      [&] {
        batch_norm(xd, Tensor(), Tensor(), zeros({3}, {DType::F64}).to(Device::CUDA),
                   ones({3}, {DType::F64}).to(Device::CUDA), BatchNormMode::Eval);
      },
      {"batch_norm", "float32"});
}

// ---- CUDA parity ------------------------------------------------------------------------------

TEST(BatchNorm, CudaParity) {
  CSG_REQUIRE_CUDA();
  // {2, 3, 96, 80}: 15360 values per channel, so the eval-mode parameter gradient sums
  // several chunks per channel.
  for (Shape shape : {Shape{4, 3, 7, 5}, Shape{16, 6}, Shape{2, 64, 3, 3}, Shape{2, 3, 96, 80}}) {
    const int64_t C = shape[1];
    for (BatchNormMode mode : kModes)
      for (bool affine : {true, false}) {
        SCOPED_TRACE(detail::cat(shape_str(shape), " ", mode_name(mode), affine ? " affine" : " no affine"));
        Tensor x = uniform(shape, 60, DType::F64, -2, 3).requires_grad_();
        Tensor w = affine ? uniform({C}, 61).requires_grad_() : Tensor();
        Tensor b = affine ? uniform({C}, 62).requires_grad_() : Tensor();
        Tensor rm = uniform({C}, 63), rv = positive({C}, 64);
        expect_cuda_parity(
            [mode](const Ins& in) { return batch_norm(in[0], in[1], in[2], in[3], in[4], mode, 0.1, 1e-5); },
            {x, w, b, rm, rv}, 2e-4, 2e-4);
      }
  }
}

TEST(BatchNorm, CudaRunningStatsParity) {
  CSG_REQUIRE_CUDA();
  for (Shape shape : {Shape{4, 3, 7, 5}, Shape{16, 6}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor w = uniform({C}, 71, DType::F32), b = uniform({C}, 72, DType::F32);
    Tensor rm = uniform({C}, 73, DType::F32), rv = uniform({C}, 74, DType::F32, 0.5, 2);
    Tensor wg = w.to(Device::CUDA), bg = b.to(Device::CUDA), rmg = rm.to(Device::CUDA), rvg = rv.to(Device::CUDA);
    for (int step = 0; step < 3; ++step) {
      Tensor x = uniform(shape, 75 + step, DType::F32, -1, 4);
      const uint64_t version = rmg.storage().version();
      Tensor yc = batch_norm(x, w, b, rm, rv, BatchNormMode::Train, 0.2, 1e-5);
      Tensor yg = batch_norm(x.to(Device::CUDA), wg, bg, rmg, rvg, BatchNormMode::Train, 0.2, 1e-5);
      EXPECT_LT(max_abs_diff(yc, yg), 1e-4);
      EXPECT_LT(max_abs_diff(rm, rmg), 1e-5) << "running_mean, step " << step;
      EXPECT_LT(max_abs_diff(rv, rvg), 1e-4) << "running_var (unbiased), step " << step;
      EXPECT_GT(rmg.storage().version(), version);
    }
    // A strided running_var view on the device is written through as well.
    Tensor big = zeros({2 * C}, {DType::F32, Device::CUDA});
    Tensor x = uniform(shape, 80, DType::F32);
    Tensor rv_host = zeros({C}), rm_host = zeros({C});
    batch_norm(x, Tensor(), Tensor(), rm_host, rv_host, BatchNormMode::Train, 1.0);
    batch_norm(x.to(Device::CUDA), Tensor(), Tensor(), zeros({C}, {DType::F32, Device::CUDA}), big.slice(0, 0, 2 * C, 2),
               BatchNormMode::Train, 1.0);
    EXPECT_LT(max_abs_diff(big.slice(0, 0, 2 * C, 2), rv_host), 1e-4);
    EXPECT_EQ(max_abs_diff(big.slice(0, 1, 2 * C, 2), zeros({C})), 0.0);
  }
}
