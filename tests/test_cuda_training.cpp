// tests/test_cuda_training.cpp — whole training computations on CUDA against the CPU: the CSG
// step (tools/bench/csg_step_bench.h, the trainer's own csg_step) for VisDA and GTA5 from the
// same weights, queues and batches; two CUDA runs in deterministic mode; and a full ResNet-50
// backward with a per-element tolerance. Skip without a GPU (fail under CSG_REQUIRE_GPU=1).
//
// TF32 is off on the CUDA side so that both devices compute in float32. Tolerances:
//  * step losses: |cuda - cpu| <= 1e-4 * max(1, |cpu|) each step (float32, other summation orders);
//  * trained tensors after the steps: max|cuda - cpu| <= 1e-2 * max|cpu - initial| + 1e-6 * max|cpu|,
//    the updates agree to 1% of their size (as tests/test_step_bench_parity.cpp against PyTorch);
//  * queues: max|diff| <= 1e-4 (unit vectors);
//  * ResNet-50 gradients: |cuda - cpu| <= 1e-5 + 1e-3 * |cpu| for every element.
// These are first-run bounds: on the first GPU run, note the printed worst ratios.
#include <cmath>
#include <cstdio>
#include <map>

#include "csg/data/tiny.h"
#include "csg/models/resnet.h"
#include "csg/train.h"
#include "tests/testing.h"
#include "tools/bench/csg_step_bench.h"

using namespace csg;
using csg::testing::expect_close;
using csg::testing::max_abs;
using csg::testing::max_abs_diff;
using csg::testing::Tolerance;

namespace {

// TF32 off (and deterministic mode as asked) for one test: the numerics() of the convolutions (and
// of DeepLab's upsamplings, which CsgNetwork takes from them), and the device's matmul setting,
// restored after.
class CudaMode {
 public:
  explicit CudaMode(bool deterministic) : deterministic_(deterministic), matmul_tf32_(cuda::matmul_tf32()) {
    cuda::set_matmul_tf32(false);
  }
  ~CudaMode() { cuda::set_matmul_tf32(matmul_tf32_); }
  ConvNumerics numerics() const {
    ConvNumerics n;
    n.tf32 = false;
    n.deterministic = deterministic_;
    return n;
  }

 private:
  bool deterministic_, matmul_tf32_;
};

// The small configurations of the step-parity fixtures (Makefile STEP_PARITY_*).
bench::StepBenchOptions small_options(const std::string& task) {
  if (task == "visda")
    return bench::parse_step_bench_args({"--task", "visda", "--arch", "resnet18", "--image-size", "64", "--batch",
                                         "4", "--queue-size", "256", "--lr", "0.01", "--steps", "3"});
  return bench::parse_step_bench_args({"--task", "gta5", "--arch", "deeplab18", "--image-size", "64", "--batch", "2",
                                       "--queue-size", "512", "--steps", "3"});
}

// A network on `dev` with the weights and queues of `from` (a CPU network).
std::unique_ptr<bench::StepBench> copy_to(const bench::StepBench& from, Device dev) {
  auto b = std::make_unique<bench::StepBench>(from.cfg, from.numerics);
  b->net.load_state_dict(from.net.state_dict(), /*strict=*/true);
  b->prepare(dev);
  for (auto& [l, q] : b->net.queues) {
    const auto& src = from.net.queues.at(l);
    q->restore(src->keys().to(dev), src->pointer());
  }
  return b;
}

std::vector<train::StepInput> on_device(const std::vector<train::StepInput>& in, Device dev) {
  std::vector<train::StepInput> out;
  for (const train::StepInput& b : in) out.push_back({b.x_q.to(dev), b.x_k.to(dev), b.labels.to(dev)});
  return out;
}

void check_step_on_cuda(const std::string& task) {
  CSG_REQUIRE_CUDA();
  CudaMode mode(/*deterministic=*/false);
  bench::StepBenchOptions o = small_options(task);
  bench::ThreadCount threads(2);
  bench::StepBench cpu(bench::step_bench_config(o), mode.numerics());
  std::map<std::string, Tensor> initial;
  for (const NamedTensor& t : cpu.net.state_dict()) initial[t.name] = t.tensor.clone();
  auto gpu = copy_to(cpu, Device::CUDA);
  cpu.prepare(Device::CPU);
  const std::vector<train::StepInput> batches =
      bench::synthetic_inputs(o, cpu.cfg.num_classes, Device::CPU, static_cast<int>(o.steps));
  const std::vector<train::StepInput> gpu_batches = on_device(batches, Device::CUDA);

  double worst_loss = 0;
  for (int64_t s = 0; s < o.steps; ++s) {
    manual_seed(1000 + s);  // any draw from the default generator (dropout) is the same on both
    const train::StepResult rc = cpu.step(batches[s]);
    manual_seed(1000 + s);
    const train::StepResult rg = gpu->step(gpu_batches[s]);
    auto check = [&](const std::string& what, double g, double c) {
      const double rel = std::fabs(g - c) / std::max(1.0, std::fabs(c));
      worst_loss = std::max(worst_loss, rel);
      EXPECT_LE(rel, 1e-4) << task << " step " << s << " " << what << ": CUDA " << g << ", CPU " << c;
    };
    check("total loss", rg.total, rc.total);
    check("task loss", rg.task, rc.task);
    for (auto& [l, v] : rc.nce) check("NCE layer " + std::to_string(l), rg.nce.at(l), v);
  }

  double worst = 0;
  std::string worst_name;
  const nn::NamedTensors gpu_state = gpu->net.state_dict();
  std::map<std::string, Tensor> gpu_by_name;
  for (const NamedTensor& t : gpu_state) gpu_by_name[t.name] = t.tensor;
  for (const NamedTensor& t : cpu.net.state_dict()) {
    if (t.name.rfind("encoder_k.", 0) == 0) continue;  // frozen
    const Tensor& g = gpu_by_name.at(t.name);
    if (t.tensor.dtype() == DType::I64) {
      EXPECT_EQ(max_abs_diff(g, t.tensor), 0) << t.name;
      continue;
    }
    const double diff = max_abs_diff(g, t.tensor);
    const double tol = 1e-2 * max_abs_diff(t.tensor, initial.at(t.name)) + 1e-6 * max_abs(t.tensor);
    if (diff / tol > worst) {
      worst = diff / tol;
      worst_name = t.name;
    }
    EXPECT_LE(diff, tol) << task << " " << t.name;
  }
  for (auto& [l, q] : cpu.net.queues) {
    EXPECT_LE(max_abs_diff(gpu->net.queues.at(l)->keys(), q->keys()), 1e-4) << "queue " << l;
    EXPECT_EQ(gpu->net.queues.at(l)->pointer(), q->pointer()) << "queue " << l;
  }
  std::printf("  %s on CUDA: %lld steps, worst loss rel diff %.2e, worst diff/tolerance %.2e (%s)\n", task.c_str(),
              static_cast<long long>(o.steps), worst_loss, worst, worst_name.c_str());
}

// Two CUDA runs of the GTA5 step (convolutions, upsampling, dense NCE) from the same state.
nn::NamedTensors deterministic_run(const bench::StepBench& from, const std::vector<train::StepInput>& batches) {
  auto b = copy_to(from, Device::CUDA);
  manual_seed(7);
  for (const train::StepInput& in : batches) b->step(in);
  nn::NamedTensors out;
  for (const NamedTensor& t : b->net.state_dict()) out.push_back({t.name, t.tensor.to(Device::CPU)});
  return out;
}

}  // namespace

TEST(CudaTraining, VisdaStepMatchesCpu) { check_step_on_cuda("visda"); }
TEST(CudaTraining, Gta5StepMatchesCpu) { check_step_on_cuda("gta5"); }

TEST(CudaTraining, DeterministicModeGivesIdenticalWeights) {
  CSG_REQUIRE_CUDA();
  CudaMode mode(/*deterministic=*/true);
  bench::StepBenchOptions o = small_options("gta5");
  bench::StepBench cpu(bench::step_bench_config(o), mode.numerics());
  const std::vector<train::StepInput> batches = on_device(
      bench::synthetic_inputs(o, cpu.cfg.num_classes, Device::CPU, static_cast<int>(o.steps)), Device::CUDA);
  const nn::NamedTensors a = deterministic_run(cpu, batches), b = deterministic_run(cpu, batches);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(max_abs_diff(a[i].tensor, b[i].tensor), 0) << a[i].name;
}

TEST(CudaTraining, ResNet50BackwardMatchesCpuPerElement) {
  CSG_REQUIRE_CUDA();
  CudaMode mode(/*deterministic=*/false);
  models::ResNetOptions opt;
  opt.depth = 50;
  opt.width = 16;
  opt.num_classes = 12;
  models::ResNet cpu(opt), gpu(opt);  // same seed: same weights
  nn::set_conv_numerics(gpu, mode.numerics());
  gpu.to(Device::CUDA);
  Generator gen(5);
  const Tensor x = randn({4, 3, 64, 64}, gen);
  const Tensor target = from_vector(std::vector<int64_t>{3, 11, 0, 7}, {4});
  cross_entropy(cpu.forward(x), target).backward();
  cross_entropy(gpu.forward(x.to(Device::CUDA)), target.to(Device::CUDA)).backward();
  const nn::NamedTensors pc = cpu.named_parameters(), pg = gpu.named_parameters();
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    ASSERT_EQ(pc[i].name, pg[i].name);
    ASSERT_TRUE(pc[i].tensor.grad().defined() && pg[i].tensor.grad().defined()) << pc[i].name;
    expect_close(pg[i].tensor.grad(), pc[i].tensor.grad(), 1e-5, 1e-3, Tolerance::PerElement,
                 "gradient of " + pc[i].name);
  }
}

// --no-tf32 (train::Config::tf32 = false): TF32 off in the convolutions' numerics and in cuBLAS,
// on any build; on a GPU a convolution and a product then agree with the CPU to 1e-4 of the
// largest value, ten times below TF32's ~1e-3 error.
TEST(CudaTraining, NoTf32SwitchesOffTf32AndComputesInFloat32) {
  const bool matmul_tf32 = cuda::matmul_tf32();
  train::Config cfg;
  cfg.tf32 = false;
  train::apply_backend_settings(cfg);
  const ConvNumerics numerics = train::conv_numerics(cfg, Device::CPU, /*training=*/true);
  EXPECT_FALSE(numerics.tf32);
  EXPECT_FALSE(cuda::matmul_tf32());
  struct Restore {
    bool matmul_tf32;
    ~Restore() { cuda::set_matmul_tf32(matmul_tf32); }
  } restore{matmul_tf32};
  CSG_REQUIRE_CUDA();
  Tensor x = csg::testing::uniform({2, 64, 16, 16}, 1, DType::F32);
  Tensor w = csg::testing::uniform({64, 64, 3, 3}, 2, DType::F32);
  Conv2dOptions o;
  o.pad_h = o.pad_w = 1;
  o.numerics = numerics;
  Tensor conv_cpu = conv2d(x, w, Tensor(), o);
  Tensor conv_gpu = conv2d(x.to(Device::CUDA), w.to(Device::CUDA), Tensor(), o).to(Device::CPU);
  expect_close(conv_gpu, conv_cpu, 0, 1e-4, Tolerance::ScaledByMax, "conv2d with --no-tf32");
  Tensor a = csg::testing::uniform({256, 512}, 3, DType::F32), b = csg::testing::uniform({512, 256}, 4, DType::F32);
  Tensor mm_gpu = matmul(a.to(Device::CUDA), b.to(Device::CUDA)).to(Device::CPU);
  expect_close(mm_gpu, matmul(a, b), 0, 1e-4, Tolerance::ScaledByMax, "matmul with --no-tf32");
}

// --precision bf16 --device cuda trains: a few steps of a tiny VisDA run (tests/test_train.cpp's
// shape) with finite losses.
TEST(CudaTraining, Bf16TrainsTinyVisda) {
  CSG_REQUIRE_CUDA();
  std::string why;
  if (!cuda::has_bf16_convolutions(&why)) GTEST_SKIP() << why;
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny_visda");
  data::write_tiny_visda(data, 0, 32, 8);
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.out_dir = tmp.subdir("bf16");
  c.device = "cuda";
  c.precision = train::Precision::Bf16;
  c.arch = train::Arch::ResNet18;
  c.width = 16;
  c.image_size = 32;
  c.batch_size = 8;
  c.queue_size = 64;
  c.embed_dim = 16;
  c.lr = 1e-2;
  c.warmup = 0;
  c.max_steps = 3;
  c.workers = 1;
  c.log_every = 1;
  c.checkpoint_every = 3;
  c.eval_at_end = false;
  c.quiet = true;
  const train::TrainSummary s = train::run_training(c);
  EXPECT_EQ(s.steps, 3);
  EXPECT_TRUE(std::isfinite(s.first_loss)) << s.first_loss;
  EXPECT_TRUE(std::isfinite(s.last_loss)) << s.last_loss;
}
