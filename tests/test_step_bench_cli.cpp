// tests/test_step_bench_cli.cpp — the step benchmark's own behaviour on the CPU: it runs a tiny
// configuration and prints one well-formed line; it says (not fakes) what it cannot measure;
// its options are checked; and the TF32 settings it uses on CUDA (ConvNumerics::tf32,
// csg::cuda::set_matmul_tf32).
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "tests/testing.h"
#include "tools/bench/csg_step_bench.h"
#ifdef CSG_WITH_CUDA
#endif

using namespace csg;

namespace {

// Runs the bench into a temporary file; returns its output.
std::string run_bench(const std::vector<std::string>& args, int* status) {
  FILE* f = std::tmpfile();
  *status = bench::run_step_bench(bench::parse_step_bench_args(args), f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  std::fclose(f);
  return out;
}

// "step-bench k=v k=\"quoted text\" ..." -> {k: v}; fails the test on anything else.
std::map<std::string, std::string> parse_line(const std::string& line) {
  std::map<std::string, std::string> kv;
  EXPECT_EQ(line.rfind("step-bench ", 0), 0u) << line;
  size_t i = 11;
  while (i < line.size()) {
    size_t eq = line.find('=', i);
    EXPECT_NE(eq, std::string::npos) << line;
    if (eq == std::string::npos) break;
    std::string key = line.substr(i, eq - i), value;
    if (line[eq + 1] == '"') {
      size_t end = line.find('"', eq + 2);
      EXPECT_NE(end, std::string::npos) << line;
      value = line.substr(eq + 2, end - eq - 2);
      i = end + 2;
    } else {
      size_t end = line.find(' ', eq);
      value = line.substr(eq + 1, end == std::string::npos ? std::string::npos : end - eq - 1);
      i = end == std::string::npos ? line.size() : end + 1;
    }
    EXPECT_EQ(key.find(' '), std::string::npos) << line;
    kv[key] = value;
  }
  return kv;
}

double number(const std::map<std::string, std::string>& kv, const std::string& key) {
  auto it = kv.find(key);
  EXPECT_NE(it, kv.end()) << key;
  return it == kv.end() ? std::nan("") : std::stod(it->second);
}

}  // namespace

TEST(StepBench, RunsTwoStepsOfATinyVisdaConfigOnTheCpu) {
  int status = -1;
  std::string out = run_bench({"--arch", "resnet18", "--image-size", "32", "--batch", "2", "--queue-size", "64",
                               "--steps", "2", "--warmup", "1", "--threads", "1"},
                              &status);
  EXPECT_EQ(status, 0);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  auto kv = parse_line(out.substr(0, out.size() - 1));
  EXPECT_EQ(kv["side"], "ours");
  EXPECT_EQ(kv["task"], "visda");
  EXPECT_EQ(kv["arch"], "resnet18");
  EXPECT_EQ(kv["batch"], "2");
  EXPECT_EQ(kv["size"], "32");
  EXPECT_EQ(kv["precision"], "fp32");
  EXPECT_EQ(kv["device"], "cpu");
  EXPECT_EQ(kv["steps"], "2");
  EXPECT_EQ(kv["threads"], "1");
  const double ips = number(kv, "images_per_s"), ms = number(kv, "step_ms");
  EXPECT_GT(ips, 0);
  EXPECT_NEAR(ips, 2 * 1000.0 / ms, 0.01 * ips);  // images/s and ms/step describe the same time
  EXPECT_TRUE(std::isfinite(number(kv, "loss")));
  EXPECT_EQ(kv["peak_mem_mib"], "nan");  // no device memory on the CPU
  EXPECT_EQ(kv.count("unavailable"), 0u);
}

TEST(StepBench, RunsATinyGta5DenseNceConfigOnTheCpu) {
  int status = -1;
  std::string out = run_bench({"--task", "gta5", "--arch", "deeplab18", "--image-size", "64", "--batch", "1",
                               "--queue-size", "128", "--steps", "1", "--warmup", "0", "--threads", "1"},
                              &status);
  EXPECT_EQ(status, 0);
  auto kv = parse_line(out.substr(0, out.find('\n')));
  EXPECT_EQ(kv["task"], "gta5");
  EXPECT_GT(number(kv, "images_per_s"), 0);
  EXPECT_TRUE(std::isfinite(number(kv, "loss")));
}

// 33 random bottlenecks with every batch norm at its defaults blew the activations up: the timed
// step (after one SGD step) computed on NaN. The bench draws BN statistics as the PyTorch side does.
TEST(StepBench, DeepLabv2ResNet101StaysFiniteAfterAStep) {
  int status = -1;
  std::string out = run_bench({"--task", "gta5", "--arch", "deeplab101", "--image-size", "64", "--batch", "1",
                               "--queue-size", "128", "--steps", "1", "--warmup", "1", "--threads", "2"},
                              &status);
  EXPECT_EQ(status, 0);
  auto kv = parse_line(out.substr(0, out.find('\n')));
  EXPECT_TRUE(std::isfinite(number(kv, "loss"))) << out;
  EXPECT_LT(number(kv, "loss"), 1e4) << out;
}

TEST(StepBench, SaysWhatItCannotMeasure) {
  int status = -1;
  // BF16 mixed precision runs on CPUs with AVX512_BF16 or AMX and on GPUs of compute capability
  // 8.0 or later; elsewhere the line says why.
  bench::StepBenchOptions o = bench::parse_step_bench_args({"--precision", "bf16", "--device", "cuda"});
  std::string no_gpu_bf16;
  if (!cuda::has_bf16_convolutions(&no_gpu_bf16)) {
    EXPECT_EQ(bench::precision_unavailable(o), no_gpu_bf16);
  } else {
    EXPECT_EQ(bench::precision_unavailable(o), "");
  }
  std::string no_bf16;
  std::map<std::string, std::string> kv;
  if (!onednn::has_bf16(&no_bf16)) {
    kv = parse_line(run_bench({"--precision", "bf16"}, &status));
    EXPECT_EQ(status, 0);
    EXPECT_EQ(kv["unavailable"], no_bf16);
    EXPECT_EQ(kv.count("images_per_s"), 0u);
  }

  kv = parse_line(run_bench({"--precision", "tf32"}, &status));
  EXPECT_NE(kv["unavailable"].find("CUDA"), std::string::npos) << kv["unavailable"];

  if (!cuda::available()) {  // fails fast, exit status 2, with the reason
    kv = parse_line(run_bench({"--device", "cuda"}, &status));
    EXPECT_EQ(status, 2);
    EXPECT_EQ(kv["unavailable"], cuda::status());
  }
}

TEST(StepBench, RejectsBadOptions) {
  EXPECT_THROW(bench::parse_step_bench_args({"--bogus"}), Error);
  EXPECT_THROW(bench::parse_step_bench_args({"--task", "mnist"}), Error);
  EXPECT_THROW(bench::parse_step_bench_args({"--precision", "fp16"}), Error);
  EXPECT_THROW(bench::parse_step_bench_args({"--steps", "x"}), Error);
  EXPECT_THROW(bench::parse_step_bench_args({"--steps"}), Error);
  EXPECT_THROW(bench::parse_step_bench_args({"--layers", "3,5"}), Error);
  EXPECT_EQ(bench::parse_step_bench_args({"--layers", "2,3,4"}).layers, (std::vector<int>{2, 3, 4}));
  bench::StepBenchOptions o = bench::parse_step_bench_args({"--task", "gta5"});
  train::Config cfg = bench::step_bench_config(o);  // the GTA5 figure: DeepLabv2-ResNet-101, 6 x 512
  EXPECT_EQ(o.arch, "deeplab101");
  EXPECT_EQ(cfg.batch_size, 6);
  EXPECT_EQ(o.image_size, 512);
  EXPECT_EQ(cfg.seg_head, models::DeepLabHead::AsppV2);
  EXPECT_EQ(cfg.chunks, 8);
  EXPECT_EQ(cfg.lambda, 75);
}

TEST(CudaTf32, SwitchRoundTripsAndDrivesTheKernels) {
  const bool before = cuda::matmul_tf32();
  EXPECT_FALSE(before);  // the default, as PyTorch's
  EXPECT_TRUE(ConvNumerics{}.tf32);  // a convolution's, carried by the call: on by default, as PyTorch's
  for (bool mm : {false, true}) {
    cuda::set_matmul_tf32(mm);
    EXPECT_EQ(cuda::matmul_tf32(), mm);
#ifdef CSG_WITH_CUDA
    EXPECT_EQ(kernels::gemm_allow_tf32(), mm);  // what cuBLAS reads
#endif
  }
  cuda::set_matmul_tf32(before);
  // The step benchmark's --precision: TF32 convolutions only for tf32.
  bench::StepBenchOptions o;
  for (const char* p : {"fp32", "tf32", "bf16"}) {
    o.precision = p;
    const ConvNumerics n = bench::step_bench_numerics(o);
    EXPECT_EQ(n.tf32, o.precision == "tf32") << p;
    EXPECT_EQ(n.bf16(), o.precision == "bf16") << p;
  }
}
