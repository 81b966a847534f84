// tests/test_tensor.cpp — tensor metadata, factories, views, copies and in-place rules.
#include <cmath>

#include "tests/testing.h"

using namespace csg;
using csg::testing::uniform;

TEST(Tensor, FactoriesShapesAndValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(shape_str(z.shape()), "[2,3]");
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_TRUE(z.is_contiguous());
  for (double v : full({4}, 2.5).to_vector()) EXPECT_EQ(v, 2.5);
  Tensor a = arange(5, {DType::F64});
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0, 1, 2, 3, 4}));
  Tensor l = from_vector(std::vector<int64_t>{3, -1, 7}, {3}, {DType::I64});
  EXPECT_EQ(l.data<int64_t>()[2], 7);
  EXPECT_THROW(l.data<float>(), Error);
  EXPECT_THROW(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(empty({2, -1}), Error);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = arange(24, {DType::F64}).reshape({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  EXPECT_EQ(shape_str(p.shape()), "[4,2,3]");
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.storage().data(), x.storage().data());
  // p[1][1][2] = x[1][2][1] = 12 + 8 + 1
  EXPECT_EQ(p.select(0, 1).select(0, 1).select(0, 2).item(), 21);
  Tensor s = x.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.contiguous().to_vector(), (std::vector<double>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
  Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage().data(), x.storage().data());
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(x.reshape({-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_THROW(x.reshape({5, -1}), Error);
  EXPECT_THROW(p.view({24}), Error);  // not contiguous: view refuses, reshape copies
  EXPECT_EQ(p.reshape({24}).numel(), 24);
  Tensor e = from_vector(std::vector<double>{1, 2, 3}, {3, 1}).expand({3, 4});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_EQ(e.contiguous().to_vector()[5], 2);
  EXPECT_THROW(x.expand({2, 5, 4}), Error);
}

// contiguous() of views (the row-by-row copy with merged dimensions, large enough to be threaded)
// against an oracle that reads the base through the view's strides: the base holds each
// element's own flat index, so a view element must equal its storage offset.
TEST(Tensor, StridedCopiesMatchTheViewsOffsets) {
  const Tensor base = arange(2 * 3 * 40 * 64 * 5, {DType::F32}).reshape({2, 3, 40, 64, 5});
  const std::vector<std::pair<const char*, Tensor>> views = {
      {"permuted", base.permute({4, 2, 0, 3, 1})},
      {"patches", base.reshape({2, 3, 5, 8, 8, 8, 5}).permute({0, 2, 4, 1, 3, 5, 6})},
      {"sliced with steps", base.slice(2, 3, 37, 2).slice(3, 1, 64, 3)},
      {"middle dims packed", base.slice(0, 1, 2).slice(1, 0, 2)},
      {"broadcast", base.slice(1, 0, 1).expand({2, 7, 40, 64, 5})},
      {"size-1 dims between", base.slice(2, 5, 6).transpose(3, 4).slice(0, 1, 2)},
  };
  for (const auto& [name, v] : views) {
    SCOPED_TRACE(name);
    ASSERT_EQ(&v.storage(), &base.storage()) << "not a view of the base: the oracle needs one";
    const std::vector<double> got = v.contiguous().to_vector();
    ASSERT_EQ(static_cast<int64_t>(got.size()), v.numel());
    std::vector<int64_t> idx(v.dim(), 0);
    for (int64_t i = 0; i < v.numel(); ++i) {
      int64_t off = v.offset();
      for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * v.strides()[d];
      ASSERT_EQ(got[i], static_cast<double>(off)) << "element " << i;
      for (int64_t d = v.dim() - 1; d >= 0 && ++idx[d] == v.shape()[d]; --d) idx[d] = 0;
    }
  }
  // Into a strided destination: a transposed view of a zero tensor takes a permuted source.
  Tensor dst = zeros({5, 64, 40}, {DType::F32});
  dst.transpose(0, 2).copy_(base.select(0, 1).select(0, 2));
  const std::vector<double> d = dst.to_vector();
  for (int64_t a = 0; a < 5; ++a)
    for (int64_t b = 0; b < 64; ++b)
      for (int64_t c = 0; c < 40; ++c)
        ASSERT_EQ(d[(a * 64 + b) * 40 + c], static_cast<double>(((1 * 3 + 2) * 40 + c) * 64 * 5 + b * 5 + a));
}

TEST(Tensor, CopyFillAndConvert) {
  Tensor x = uniform({3, 4}, 1);
  Tensor y = zeros({4, 3}, {DType::F32});
  y.copy_(x.transpose(0, 1));
  EXPECT_NEAR(y.select(0, 2).select(0, 1).item(), x.select(0, 1).select(0, 2).item(), 1e-7);
  Tensor f = x.to(DType::F32);
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_LT(csg::testing::max_abs_diff(f, x), 1e-7);
  Tensor t = zeros({2, 3});
  t.slice(1, 1, 3).fill_(4);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 4, 4, 0, 4, 4}));
  // A large strided view (the threaded row-by-row fill): columns 1..299 of every other row.
  Tensor big = zeros({600, 300}, {DType::F32});
  big.slice(0, 0, 600, 2).transpose(0, 1).slice(0, 1, 300).fill_(7);
  const std::vector<double> v = big.to_vector();
  for (int64_t r = 0; r < 600; ++r)
    for (int64_t c = 0; c < 300; ++c) ASSERT_EQ(v[r * 300 + c], (r % 2 == 0 && c >= 1) ? 7 : 0) << r << "," << c;
  t.add_(ones({2, 3}), 2.0);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{2, 6, 6, 2, 6, 6}));
  t.mul_(0.5);
  EXPECT_EQ(t.to_vector()[1], 3);
  EXPECT_THROW(t.add_(ones({3, 2})), Error);
}

TEST(Tensor, InPlaceOnTensorThatRequiresGradIsRefused) {
  Tensor w = ones({3}).requires_grad_();
  EXPECT_THROW(w.fill_(2), Error);
  {
    NoGradGuard ng;
    w.fill_(2);  // what an optimizer does
  }
  EXPECT_EQ(w.to_vector()[0], 2);
}

TEST(Tensor, SavedTensorModifiedInPlaceIsDetected) {
  Tensor a = uniform({4}, 2).requires_grad_();
  Tensor b = uniform({4}, 3);
  Tensor y = sum(mul(a, b));
  b.fill_(0);  // b was saved by mul for the gradient of a
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified in place"), std::string::npos) << e.what();
  }
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  Tensor a = zeros({2, 3}), b = zeros({4, 3});
  try {
    add(a, b);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4,3]"), std::string::npos) << m;
  }
  EXPECT_THROW(Tensor().shape(), Error);
  EXPECT_THROW(add(a, zeros({2, 3}, {DType::F64})), Error);
  EXPECT_THROW(zeros({2}).item(), Error);
}

TEST(Tensor, CudaCopiesRoundTrip) {
  CSG_REQUIRE_CUDA();
  Tensor x = uniform({5, 7}, 9, DType::F32);
  Tensor d = x.to(Device::CUDA);
  EXPECT_TRUE(d.is_cuda());
  EXPECT_EQ(csg::testing::max_abs_diff(d.to(Device::CPU), x), 0);
  Tensor dt = d.transpose(0, 1).contiguous();  // strided copy on the device
  EXPECT_EQ(csg::testing::max_abs_diff(dt, x.transpose(0, 1)), 0);
  Tensor f = zeros({7, 5}, {DType::F32, Device::CUDA});
  f.slice(0, 2, 5).fill_(3);
  EXPECT_EQ(f.to_vector()[2 * 5], 3);
  EXPECT_EQ(f.to_vector()[0], 0);
  EXPECT_THROW(zeros({2}, {DType::F64, Device::CUDA}).fill_(1), Error);
  auto before = cuda::memory_stats().device_allocs;
  for (int i = 0; i < 10; ++i) Tensor t = empty({1000}, {DType::F32, Device::CUDA});
  EXPECT_LE(cuda::memory_stats().device_allocs, before + 1) << "the caching allocator should reuse the block";
}

TEST(Tensor, CudaUnavailableGivesAClearError) {
  if (cuda::available()) GTEST_SKIP() << "a CUDA device is present";
  try {
    zeros({2}).to(Device::CUDA);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("to(cuda)"), std::string::npos) << e.what();
  }
}

TEST(Random, SeededAndDeviceIndependent) {
  Generator g1(7), g2(7);
  Tensor a = rand({1000}, g1), b = rand({1000}, g2);
  EXPECT_EQ(csg::testing::max_abs_diff(a, b), 0);
  Tensor c = rand({1000}, g1);  // the generator moved on
  EXPECT_GT(csg::testing::max_abs_diff(a, c), 0);
  Generator g3(1);
  std::vector<double> v = randn({20000}, g3, {DType::F64}).to_vector();
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  s = std::sqrt(s / v.size());
  EXPECT_NEAR(m, 0, 0.03);
  EXPECT_NEAR(s, 1, 0.03);
}

// rand maps each counter's u through the formula both devices share (uniform_in_range).
TEST(Random, RangeFollowsTheSharedFormula) {
  Generator g(13);
  const uint64_t seed = g.seed(), off = g.offset();
  const std::vector<double> v = rand({1000}, g, {DType::F32}, -2.0, 3.0).to_vector();
  for (int64_t i = 0; i < 1000; ++i) {
    const float u = counter_uniform(seed, off + i);
    const float want = static_cast<float>(-2.0 + 5.0 * static_cast<double>(u));
    ASSERT_EQ(static_cast<float>(v[i]), want) << "element " << i;
    ASSERT_EQ(static_cast<float>(uniform_in_range(u, -2.0, 3.0)), want) << "element " << i;
    ASSERT_TRUE(v[i] >= -2.0 && v[i] < 3.0) << v[i];
  }
}

TEST(Random, CudaMatchesCpuBitForBit) {
  CSG_REQUIRE_CUDA();
  for (auto [lo, hi] : {std::pair<double, double>{0, 1}, {-2, 3}, {-0.1, 0.1}, {1e-3, 7.5}}) {
    Generator g1(11), g2(11);
    Tensor a = rand({4097}, g1, {DType::F32, Device::CPU}, lo, hi);
    Tensor b = rand({4097}, g2, {DType::F32, Device::CUDA}, lo, hi);
    EXPECT_EQ(csg::testing::max_abs_diff(a, b), 0) << "[" << lo << ", " << hi << ")";
  }
  // randn: the device's logf/cosf/sqrtf differ from libm in the last bits.
  Generator g3(12), g4(12);
  Tensor n1 = randn({4097}, g3, {DType::F32, Device::CPU}), n2 = randn({4097}, g4, {DType::F32, Device::CUDA});
  csg::testing::expect_close(n2, n1, 1e-5, 1e-5, csg::testing::Tolerance::PerElement, "randn CUDA vs CPU");
}

TEST(Tensor, ParseDeviceNamesTheFlagAndWhyCudaIsMissing) {
  EXPECT_EQ(csg::parse_device("cpu"), csg::Device::CPU);
  try {
    csg::parse_device("gpu");
    FAIL() << "gpu was accepted";
  } catch (const csg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device gpu: expected auto, cpu or cuda"), std::string::npos) << e.what();
  }
  // auto: the GPU when one is usable, else the CPU with the reason; never a GPU it cannot run on.
  std::string why;
  if (csg::cuda::gpu_not_built_for()) {
    EXPECT_THROW(csg::parse_device("auto", &why), csg::Error);
  } else {
    EXPECT_EQ(csg::parse_device("auto", &why), csg::cuda::available() ? csg::Device::CUDA : csg::Device::CPU);
    EXPECT_EQ(why, csg::cuda::status());
  }
  if (csg::cuda::available()) {
    EXPECT_EQ(csg::parse_device("cuda"), csg::Device::CUDA);
  } else {
    try {
      csg::parse_device("cuda");
      FAIL() << "cuda was accepted without a usable GPU";
    } catch (const csg::Error& e) {
      EXPECT_NE(std::string(e.what()).find(csg::cuda::status()), std::string::npos) << e.what();
    }
  }
}
