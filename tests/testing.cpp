// tests/testing.cpp — finite-difference gradient checks and CPU/CUDA parity.
#include "tests/testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>


namespace csg::testing {

Tensor uniform(const Shape& shape, uint64_t seed, DType dt, double lo, double hi) {
  Generator g(seed);
  return rand(shape, g, {dt, Device::CPU}, lo, hi);
}

CliResult run_cli_captured(std::vector<std::string> args) {
  args.insert(args.begin(), "csg");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int status = cli::run_cli(static_cast<int>(argv.size()), argv.data());
  CliResult r{status, ::testing::internal::GetCapturedStdout(), ::testing::internal::GetCapturedStderr()};
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

ShellResult run_shell(const std::string& command, const std::string& log) {
  const int rc = std::system((command + " > '" + log + "' 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_text(log)};
}

ShellResult run_self(const std::string& env, const std::string& filter) {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  EXPECT_GT(n, 0) << "cannot read /proc/self/exe";
  if (n <= 0) return {};
  const std::string log = ::testing::TempDir() + "csg_child_" + std::to_string(getpid()) + ".log";
  const std::string self(path, static_cast<size_t>(n));
  ShellResult r = run_shell(env + " '" + self + "' --gtest_filter='" + filter + "'", log);
  std::remove(log.c_str());
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_with_flipped_byte(const std::string& from, const std::string& to, size_t offset, uint8_t mask) {
  std::string bytes = read_file_bytes(from);
  ASSERT_LT(offset, bytes.size()) << from;
  bytes[offset] = static_cast<char>(static_cast<uint8_t>(bytes[offset]) ^ mask);
  std::ofstream(to, std::ios::binary | std::ios::trunc) << bytes;
}

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  path_ = (std::filesystem::temp_directory_path() / ("csg_" + std::string(info->test_suite_name()) + "_" +
                                                     info->name() + "_" + std::to_string(::getpid())))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}
std::string TempDir::operator/(const std::string& rel) const { return (std::filesystem::path(path_) / rel).string(); }
std::string TempDir::subdir(const std::string& rel) const {
  const std::string p = *this / rel;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}
std::string TempDir::str() const { return path_; }

void expect_values_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

void expect_values_near(const Tensor& got, const std::vector<double>& want, double tol) {
  expect_values_near(got.to_vector(), want, tol);
}

std::vector<double> map_lanes(const Tensor& x, int dim, const LaneFn& lane_fn) {
  CSG_CHECK(x.dim() == 3 && dim >= 0 && dim < 3, "map_lanes: a 3-D tensor and dim 0..2, got ", shape_str(x.shape()),
            " and dim ", dim);
  const std::vector<double> v = x.to_vector();
  const Shape s = x.shape();
  auto flat = [&](const int64_t* c) { return (c[0] * s[1] + c[1]) * s[2] + c[2]; };
  std::vector<double> out(v.size()), lane(s[dim]);
  int64_t c[3];
  // Every lane starts at an index whose coordinate along dim is 0.
  for (c[0] = 0; c[0] < (dim == 0 ? 1 : s[0]); ++c[0])
    for (c[1] = 0; c[1] < (dim == 1 ? 1 : s[1]); ++c[1])
      for (c[2] = 0; c[2] < (dim == 2 ? 1 : s[2]); ++c[2]) {
        int64_t m[3] = {c[0], c[1], c[2]};
        for (m[dim] = 0; m[dim] < s[dim]; ++m[dim]) lane[m[dim]] = v[flat(m)];
        const std::vector<double> result = lane_fn(lane);
        CSG_CHECK(result.size() == lane.size(), "map_lanes: lane_fn returned ", result.size(), " values for a lane of ",
                  lane.size());
        for (m[dim] = 0; m[dim] < s[dim]; ++m[dim]) out[flat(m)] = result[m[dim]];
      }
  return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  if (a.shape() != b.shape()) return INFINITY;
  std::vector<double> va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double d = std::fabs(va[i] - vb[i]);
    if (std::isnan(d)) return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
  return m;
}

std::string torch_fixture(const std::string& rel) {
  const char* dir = std::getenv("CSG_FIXTURES");
  return std::string(dir ? dir : "build/fixtures") + "/" + rel;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

bool gpu_required() {
  const char* v = std::getenv("CSG_REQUIRE_GPU");
  return v && std::string(v) == "1";
}

namespace {

// The scalar whose gradient is checked: sum(w * f(inputs)).
double projected(const OpFn& f, const std::vector<Tensor>& inputs, const Tensor& w) {
  NoGradGuard ng;
  return sum(mul(f(inputs), w)).item();
}

}  // namespace

void expect_gradients_match(const OpFn& f, const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) {
      ASSERT_EQ(t.dtype(), DType::F64) << "gradient checks run in double: " << t.describe();
      ASSERT_EQ(t.device(), Device::CPU) << t.describe();
      ASSERT_TRUE(t.is_leaf()) << t.describe();
      ASSERT_TRUE(t.is_contiguous()) << t.describe();
    }
  Tensor out = f(inputs);
  ASSERT_TRUE(out.requires_grad()) << "the function's output does not depend on any input that requires grad";
  Tensor w = uniform(out.shape(), 4242, DType::F64, 0.5, 1.5);
  for (const Tensor& t : inputs)
    if (t.defined()) Tensor(t).zero_grad();
  sum(mul(out, w)).backward();

  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor g = x.grad();
    ASSERT_TRUE(g.defined()) << "input " << k << " " << x.describe() << " received no gradient";
    std::vector<double> analytic = g.to_vector();
    double* p = x.data<double>();
    int reported = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = p[i];
      p[i] = saved + eps;
      double fp = projected(f, inputs, w);
      p[i] = saved - eps;
      double fm = projected(f, inputs, w);
      p[i] = saved;
      double numeric = (fp - fm) / (2 * eps);
      double err = std::fabs(analytic[i] - numeric);
      if (!(err <= atol + rtol * std::fabs(numeric)) && reported++ < 5)
        ADD_FAILURE() << "gradient mismatch: input " << k << " " << x.describe() << " element " << i
                      << ": backward " << analytic[i] << ", finite difference " << numeric << " (|diff| " << err
                      << ")";
    }
  }
}

void expect_close(const Tensor& got, const Tensor& want, double atol, double rtol, Tolerance mode,
                  const std::string& what) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  const std::vector<double> g = got.to_vector(), w = want.to_vector();
  const double scale = mode == Tolerance::ScaledByMax ? max_abs(want) : 0.0;
  int64_t bad = 0;
  std::ostringstream first;
  for (size_t i = 0; i < g.size(); ++i) {
    const double tol = atol + rtol * (mode == Tolerance::PerElement ? std::fabs(w[i]) : scale);
    const double d = std::fabs(g[i] - w[i]);
    if (d <= tol) continue;  // NaN fails here too
    if (bad++ < 5) first << "\n  [" << i << "] got " << g[i] << ", want " << w[i] << " (|diff| " << d << ", tol " << tol
                         << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << g.size() << " elements out of tolerance (atol " << atol
                    << ", rtol " << rtol << (mode == Tolerance::PerElement ? " per element" : " x max|want|")
                    << "); first ones:" << first.str();
}

void expect_cuda_parity(const OpFn& f, const std::vector<Tensor>& inputs, double atol, double rtol,
                        Tolerance mode) {
  std::vector<Tensor> cpu, gpu;
  for (const Tensor& t : inputs) {
    if (!t.defined()) {
      cpu.emplace_back();
      gpu.emplace_back();
      continue;
    }
    bool float_type = t.dtype() != DType::I64;
    Tensor c = (float_type ? t.detach().to(DType::F32) : t.detach()).contiguous();
    if (c.storage().data() == t.storage().data()) c = c.clone();  // never alias the caller's tensor
    Tensor d = c.to(Device::CUDA);
    if (float_type && t.requires_grad()) {
      c.requires_grad_();
      d.requires_grad_();
    }
    cpu.push_back(c);
    gpu.push_back(d);
  }
  Tensor oc = f(cpu), og = f(gpu);
  ASSERT_EQ(og.device(), Device::CUDA) << "the CUDA run produced a CPU tensor";
  expect_close(og, oc, atol, rtol, mode, "forward output (CUDA vs CPU)");
  if (!oc.requires_grad() || oc.dtype() == DType::I64) return;
  Tensor w = uniform(oc.shape(), 4243, DType::F32, 0.5, 1.5);
  sum(mul(oc, w)).backward();
  sum(mul(og, w.to(Device::CUDA))).backward();
  for (size_t k = 0; k < cpu.size(); ++k) {
    if (!cpu[k].defined() || !cpu[k].requires_grad()) continue;
    Tensor gc = cpu[k].grad(), gg = gpu[k].grad();
    ASSERT_EQ(gc.defined(), gg.defined()) << "input " << k << ": gradient on one device only";
    if (!gc.defined()) continue;
    EXPECT_EQ(gg.device(), Device::CUDA);
    expect_close(gg, gc, atol, rtol, mode, detail::cat("gradient of input ", k, " (CUDA vs CPU)"));
  }
}

}  // namespace csg::testing
