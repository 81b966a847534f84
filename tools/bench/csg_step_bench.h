// tools/bench/csg_step_bench.h — the CSG training-step benchmark of our engine: one step is
// csg::train::csg_step (src/train/csg_step.cpp, the trainer's own step) on a CsgNetwork with
// the trainer's SGD groups, timed on fixed synthetic batches that live on the device (no data
// loading is timed). tools/reference/csg_step_torch.py is the same step in PyTorch;
// tools/bench/step_bench.py runs both and prints the ratios.
//
// Header-only so that the bench's main (csg_step_bench.cpp) and the tests
// (tests/test_step_bench*.cpp) run the same code.
//
// Output: one line per figure, `step-bench key=value ...` (the fields of csg_step_torch.py):
//   step-bench side=ours task=visda arch=resnet101 batch=32 size=224 precision=tf32 device=cuda
//              steps=20 images_per_s=... step_ms=... peak_mem_mib=... loss=... precision_text="..."
// or, for a figure our engine cannot produce, `... unavailable="why"`.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "csg/csg.h"
#include "csg/io/safetensors.h"
#include "tests/internals.h"

namespace csg::bench {

struct StepBenchOptions {
  std::string task = "visda", arch, device = "cpu", precision = "fp32";
  int64_t batch = 0, image_size = 0;  // 0: the task's default (32 x 224 VisDA, 6 x 512 GTA5)
  int64_t steps = 20, warmup = 5, queue_size = 65536;
  std::vector<int> layers = {3, 4};
  double lr = -1, lambda = -1;  // < 0: the task's default
  int threads = 0;              // 0: OMP_NUM_THREADS or every core
  uint64_t seed = 0;
  std::string init, inputs, dump;  // parity runs (see csg_step_torch.py)
  std::string seg_head = "aspp-v2";  // GTA5 head; the benchmark measures DeepLabv2's
  bool train_seg_heads = false;      // GTA5: optimise the projection heads (csg's default: no)
};

inline const char* kStepBenchUsage =
    "usage: csg_step_bench [--task visda|gta5] [--arch NAME] [--batch N] [--image-size N] [--steps N]\n"
    "                      [--warmup N] [--device cpu|cuda] [--precision fp32|tf32|bf16] [--queue-size K]\n"
    "                      [--layers 3,4] [--lr X] [--lambda X] [--threads N] [--seed N]\n"
    "                      [--init FILE] [--inputs FILE] [--dump FILE] [--seg-head aspp-v2|aspp-csg]\n"
    "                      [--train-seg-heads]\n";

inline StepBenchOptions parse_step_bench_args(const std::vector<std::string>& args) {
  StepBenchOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      CSG_CHECK(i + 1 < args.size(), a, " needs a value\n", kStepBenchUsage);
      return args[++i];
    };
    auto integer = [&]() {
      const std::string& v = value();
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      CSG_CHECK(!v.empty() && *end == '\0', a, " ", v, ": expected an integer");
      return static_cast<int64_t>(n);
    };
    auto real = [&]() {
      const std::string& v = value();
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      CSG_CHECK(!v.empty() && *end == '\0', a, " ", v, ": expected a number");
      return x;
    };
    if (a == "--task") o.task = value();
    else if (a == "--arch") o.arch = value();
    else if (a == "--batch") o.batch = integer();
    else if (a == "--image-size") o.image_size = integer();
    else if (a == "--steps") o.steps = integer();
    else if (a == "--warmup") o.warmup = integer();
    else if (a == "--device") o.device = value();
    else if (a == "--precision") o.precision = value();
    else if (a == "--queue-size") o.queue_size = integer();
    else if (a == "--lr") o.lr = real();
    else if (a == "--lambda") o.lambda = real();
    else if (a == "--threads") o.threads = static_cast<int>(integer());
    else if (a == "--seed") o.seed = static_cast<uint64_t>(integer());
    else if (a == "--init") o.init = value();
    else if (a == "--inputs") o.inputs = value();
    else if (a == "--dump") o.dump = value();
    else if (a == "--seg-head") o.seg_head = value();
    else if (a == "--train-seg-heads") o.train_seg_heads = true;
    else if (a == "--layers") {
      o.layers.clear();
      const std::string& v = value();
      for (size_t p = 0; p <= v.size();) {
        const size_t comma = std::min(v.find(',', p), v.size());
        const std::string item = v.substr(p, comma - p);
        CSG_CHECK(item.size() == 1 && item[0] >= '1' && item[0] <= '4', "--layers ", v,
                  ": expected ResNet stages 1..4 separated by commas, such as 3,4");
        o.layers.push_back(item[0] - '0');
        p = comma + 1;
      }
    } else
      CSG_CHECK(false, "unknown option ", a, "\n", kStepBenchUsage);
  }
  CSG_CHECK(o.task == "visda" || o.task == "gta5", "--task ", o.task, ": expected visda or gta5");
  CSG_CHECK(o.device == "cpu" || o.device == "cuda", "--device ", o.device, ": expected cpu or cuda");
  CSG_CHECK(o.precision == "fp32" || o.precision == "tf32" || o.precision == "bf16", "--precision ", o.precision,
            ": expected fp32, tf32 or bf16");
  CSG_CHECK(o.seg_head == "aspp-v2" || o.seg_head == "aspp-csg", "--seg-head ", o.seg_head,
            ": expected aspp-v2 or aspp-csg");
  CSG_CHECK(o.steps > 0 && o.warmup >= 0, "--steps must be > 0 and --warmup >= 0");
  return o;
}

// The trainer's configuration for the task, with the benchmark's sizes; GTA5 uses the
// DeepLabv2 head (aspp-v2, the configuration the benchmark measures) unless --seg-head.
inline train::Config step_bench_config(StepBenchOptions& o) {
  const bool visda = o.task == "visda";
  train::Config cfg = train::default_config(visda ? train::Task::Visda : train::Task::Gta5);
  if (o.arch.empty()) o.arch = visda ? "resnet101" : "deeplab101";
  if (o.batch == 0) o.batch = visda ? 32 : 6;
  if (o.image_size == 0) o.image_size = visda ? 224 : 512;
  cfg.arch = train::parse_arch(o.arch);
  cfg.batch_size = o.batch;
  cfg.image_size = cfg.crop = static_cast<int>(o.image_size);
  cfg.seg_head = models::parse_deeplab_head(o.seg_head);
  cfg.train_seg_heads = o.train_seg_heads;
  cfg.queue_size = o.queue_size;
  cfg.layers = o.layers;
  if (o.lr >= 0) cfg.lr = o.lr;
  if (o.lambda >= 0) cfg.lambda = o.lambda;
  cfg.device = o.device;
  cfg.seed = o.seed;
  return cfg;
}

// The network, optimiser and step as run_training (src/train/trainer.cpp) sets them up.
struct StepBench {
  StepBench(const train::Config& c, const ConvNumerics& n) : cfg(c), numerics(n), net(c, n) {}
  train::Config cfg;
  ConvNumerics numerics;  // of every convolution in net
  train::CsgNetwork net;
  std::unique_ptr<optim::SGD> sgd;

  void prepare(Device dev) {
    net.to_device(dev);
    train::CsgNetwork::Groups g = net.parameter_groups();
    std::vector<optim::ParamGroup> pg = {{"backbone", g.backbone, cfg.lr * cfg.factor},
                                         {"task_head", g.task_head, cfg.lr},
                                         {"projection", g.projection, cfg.lr}};
    sgd = std::make_unique<optim::SGD>(pg, cfg.momentum, cfg.weight_decay,
                                       cfg.torch_sgd ? optim::SgdVariant::Torch : optim::SgdVariant::Reference);
    net.set_training_modes();
  }
  train::StepResult step(const train::StepInput& in, double lr_scale = 1.0) {
    return train::csg_step(net, cfg, *sgd, lr_scale, in);
  }
};

// Random batch-norm affine terms and running statistics for f_e, copied into f_eo, drawn
// as csg_step_torch.py's randomise_bn draws them (the same ranges, not the same numbers): with every
// BN at its defaults in eval mode, 33 random bottlenecks blow DeepLabv2-ResNet-101's activations up
// and the timed steps compute on NaN. The last BN of each residual branch gets the small scale.
inline void randomise_backbone_batch_norm(train::CsgNetwork& net, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard ng;
  std::map<std::string, Tensor> by_name;
  for (const NamedTensor& t : net.encoder_q->state_dict()) by_name[t.name] = t.tensor;
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& [name, var] : by_name) {
    if (!ends_with(name, "running_var")) continue;
    const std::string bn = name.substr(0, name.size() - std::string("running_var").size());  // "layer1.0.bn3."
    const std::string block = bn.substr(0, bn.rfind('.', bn.size() - 2) + 1);              // "layer1.0."
    const bool last_of_branch = ends_with(bn, "bn3.") || (ends_with(bn, "bn2.") && !by_name.count(block + "bn3.weight"));
    const double lo = last_of_branch ? 0.2 : 0.75, width = last_of_branch ? 0.1 : 0.5;
    const TensorOptions opt = var.options();
    Tensor(by_name[bn + "weight"]).copy_(rand(var.shape(), gen, opt, lo, lo + width));
    Tensor(by_name[bn + "bias"]).copy_(rand(var.shape(), gen, opt, -0.1, 0.1));
    Tensor(by_name[bn + "running_mean"]).copy_(rand(var.shape(), gen, opt, -0.1, 0.1));
    Tensor(var).copy_(rand(var.shape(), gen, opt, 0.75, 1.25));
  }
  net.encoder_k->load_state_dict(net.encoder_q->state_dict());
}

// Weights ("net.<state_dict name>", every one required) and queues ("queue.<l>", pointer from
// the metadata "queue_pointer.<l>") as csg_step_torch.py --write-init writes them.
inline void load_initial_state(train::CsgNetwork& net, const std::string& path) {
  std::map<std::string, std::string> meta;
  std::vector<NamedTensor> weights;
  std::map<std::string, Tensor> queues;
  for (NamedTensor& t : load_safetensors(path, &meta)) {
    if (t.name.rfind("net.", 0) == 0) weights.push_back({t.name.substr(4), t.tensor});
    if (t.name.rfind("queue.", 0) == 0) queues[t.name.substr(6)] = t.tensor;
  }
  net.load_state_dict(weights, /*strict=*/true);
  for (auto& [l, q] : net.queues) {
    const std::string key = std::to_string(l);
    CSG_CHECK(queues.count(key), path, ": no queue.", key, " for layer ", l);
    auto p = meta.find("queue_pointer." + key);
    q->restore(queues[key].to(q->keys().device()), p == meta.end() ? 0 : std::stoll(p->second));
  }
}

inline std::vector<train::StepInput> load_inputs(const std::string& path, Device dev) {
  std::map<std::string, Tensor> t;
  for (NamedTensor& n : load_safetensors(path)) t[n.name] = n.tensor;
  std::vector<train::StepInput> out;
  for (int i = 0; t.count("x_q." + std::to_string(i)); ++i) {
    const std::string s = std::to_string(i);
    CSG_CHECK(t.count("x_k." + s) && t.count("labels." + s), path, ": batch ", i, " lacks x_k or labels");
    out.push_back({t["x_q." + s].to(dev), t["x_k." + s].to(dev), t["labels." + s].to(dev)});
  }
  CSG_CHECK(!out.empty(), path, ": holds no input batch (x_q.0, x_k.0, labels.0)");
  return out;
}

// Fixed synthetic batches made on the device: uniform images, a jittered key view, random
// labels (segmentation: 10% ignored pixels).
inline std::vector<train::StepInput> synthetic_inputs(const StepBenchOptions& o, int64_t classes, Device dev,
                                                      int count) {
  Generator gen(o.seed + 7);
  const Shape shape = {o.batch, 3, o.image_size, o.image_size};
  std::vector<train::StepInput> out;
  for (int i = 0; i < count; ++i) {
    train::StepInput in;
    in.x_q = rand(shape, gen, {DType::F32, dev}, -1.0, 1.0);
    in.x_k = add(in.x_q, mul(randn(shape, gen, {DType::F32, dev}), 0.1));
    const bool seg = o.task == "gta5";
    const Shape ls = seg ? Shape{o.batch, o.image_size, o.image_size} : Shape{o.batch};
    std::vector<double> u = rand(ls, gen, {DType::F64}).to_vector(), ignore = rand(ls, gen, {DType::F64}).to_vector();
    std::vector<int64_t> labels(u.size());
    for (size_t j = 0; j < u.size(); ++j)
      labels[j] = seg && ignore[j] < 0.1 ? 255 : std::min<int64_t>(static_cast<int64_t>(u[j] * classes), classes - 1);
    in.labels = from_vector(labels, ls).to(dev);
    out.push_back(in);
  }
  return out;
}

inline std::string step_bench_fields(const StepBenchOptions& o) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "side=ours task=%s arch=%s batch=%lld size=%lld precision=%s device=%s",
                o.task.c_str(), o.arch.c_str(), static_cast<long long>(o.batch),
                static_cast<long long>(o.image_size), o.precision.c_str(), o.device.c_str());
  return buf;
}

// Why our engine cannot run this precision on this device, or "" when it can.
inline std::string precision_unavailable(const StepBenchOptions& o) {
  std::string why;
  if (o.precision == "bf16" && !has_bf16_convolutions(o.device == "cpu" ? Device::CPU : Device::CUDA, &why))
    return why;
  if (o.precision == "tf32" && o.device == "cpu") return "TF32 is a CUDA tensor-core mode";
  return "";
}

// Passes run by each BF16 convolution kernel on the CPU so far (src/ops/onednn/conv2d.h), and
// the kernels one step ran, per step: which ones the per-geometry timing chose on this CPU.
using Bf16KernelRuns = std::array<uint64_t, 3>;
inline Bf16KernelRuns bf16_kernel_runs() {
#ifdef CSG_WITH_DNNL
  using K = onednn::Bf16Kernel;
  return {onednn::bf16_kernel_runs(K::Primitive), onednn::bf16_kernel_runs(K::F32OnRounded),
          onednn::bf16_kernel_runs(K::Im2colGemm)};
#else
  return {0, 0, 0};
#endif
}
inline std::string bf16_kernels_text(const Bf16KernelRuns& before, int64_t steps) {
  const Bf16KernelRuns now = bf16_kernel_runs();
  const char* names[] = {"bf16 primitive", "f32 primitive on rounded", "im2col + bf16 matmul"};
  std::string text;
  for (int i = 0; i < 3; ++i) {
    text += (i ? ", " : "") + std::string(names[i]) + " ";
    text += std::to_string(std::llround(static_cast<double>(now[i] - before[i]) / std::max<int64_t>(steps, 1)));
  }
  return text + " passes/step";
}

inline const char* precision_text(const std::string& p) {
  if (p == "bf16")
    return "bf16 convolutions (oneDNN on the CPU, cuDNN on CUDA), fp32 master weights, GEMMs, BN and losses";
  return p == "tf32" ? "fp32 with TF32 convolutions and matmuls" : "fp32 (no TF32)";
}

// Sets OpenMP's thread count for a scope (n > 0), restoring the previous one after.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : previous_(omp_get_max_threads()) {
    if (n > 0) omp_set_num_threads(n);
  }
  ~ThreadCount() { omp_set_num_threads(previous_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int previous_;
};

// How the benchmark's convolutions compute: --precision bf16 (precision_unavailable has checked
// the device can), or f32 with TF32 only for --precision tf32.
inline ConvNumerics step_bench_numerics(const StepBenchOptions& o) {
  ConvNumerics n;
  n.precision = o.precision == "bf16" ? ConvPrecision::Bf16 : ConvPrecision::F32;
  n.tf32 = o.precision == "tf32";
  return n;
}

// Runs the benchmark (or the parity run with --dump) and prints its line to `out`. Returns the
// process exit status: 0, or 2 when the device asked for is not there.
inline int run_step_bench(StepBenchOptions o, FILE* out) {
  train::Config cfg = step_bench_config(o);
  if (o.device == "cuda" && !cuda::available()) {
    std::fprintf(out, "step-bench %s unavailable=\"%s\"\n", step_bench_fields(o).c_str(), cuda::status().c_str());
    return 2;
  }
  if (std::string why = precision_unavailable(o); !why.empty()) {
    std::fprintf(out, "step-bench %s unavailable=\"%s\"\n", step_bench_fields(o).c_str(), why.c_str());
    return 0;
  }
  ThreadCount threads(o.threads);
  keep_freed_host_memory();  // as run_training does
  if (o.device == "cuda") cuda::set_matmul_tf32(o.precision == "tf32");
  const Device dev = parse_device(o.device);

  StepBench b(cfg, step_bench_numerics(o));
  if (!o.init.empty())
    load_initial_state(b.net, o.init);
  else
    randomise_backbone_batch_norm(b.net, o.seed + 1);
  b.prepare(dev);
  const bool dumping = !o.dump.empty();
  std::vector<train::StepInput> inputs =
      !o.inputs.empty() ? load_inputs(o.inputs, dev) : synthetic_inputs(o, cfg.num_classes, dev, 2);

  if (dumping) {  // parity: the inputs in order, no warm-up; losses and the final state
    CSG_CHECK(static_cast<int64_t>(inputs.size()) >= o.steps, "--dump: ", o.steps, " steps need as many input batches, ",
              o.inputs, " has ", inputs.size());
    std::map<std::string, std::vector<double>> rows;
    for (int64_t i = 0; i < o.steps; ++i) {
      train::StepResult r = b.step(inputs[i]);
      rows["loss.total"].push_back(r.total);
      rows["loss.task"].push_back(r.task);
      for (auto& [l, v] : r.nce) rows["loss.nce" + std::to_string(l)].push_back(v);
    }
    std::vector<NamedTensor> tensors;
    for (auto& [name, v] : rows) tensors.push_back({name, from_vector(v, {static_cast<int64_t>(v.size())})});
    for (const NamedTensor& t : b.net.state_dict())  // f_eo is frozen: the trained state is everything else
      if (t.name.rfind("encoder_k.", 0) != 0) tensors.push_back({"final.net." + t.name, t.tensor});
    std::map<std::string, std::string> meta;
    for (auto& [l, q] : b.net.queues) {
      tensors.push_back({"final.queue." + std::to_string(l), q->keys()});
      meta["queue_pointer." + std::to_string(l)] = std::to_string(q->pointer());
    }
    save_safetensors(o.dump, tensors, meta);
    std::fprintf(out, "step-bench %s dumped=%s steps=%lld first_loss=%.6f last_loss=%.6f\n",
                 step_bench_fields(o).c_str(), o.dump.c_str(), static_cast<long long>(o.steps),
                 rows["loss.total"].front(), rows["loss.total"].back());
    return 0;
  }

  cuda::synchronize();
  cuda::reset_peak_memory();
  for (int64_t i = 0; i < o.warmup; ++i) b.step(inputs[i % inputs.size()]);
  cuda::synchronize();
  const Bf16KernelRuns runs_before = bf16_kernel_runs();
  const auto t0 = std::chrono::steady_clock::now();
  train::StepResult last;
  for (int64_t i = 0; i < o.steps; ++i) last = b.step(inputs[i % inputs.size()]);  // .item() syncs each step
  cuda::synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string kernels =
      o.device == "cpu" && o.precision == "bf16" ? bf16_kernels_text(runs_before, o.steps) : std::string();
  const double peak_mib = o.device == "cuda" ? cuda::memory_stats().peak_in_use / 1048576.0 : std::nan("");
  std::fprintf(out,
               "step-bench %s steps=%lld images_per_s=%.3f step_ms=%.3f peak_mem_mib=%.1f loss=%.5f "
               "threads=%d precision_text=\"%s\"%s\n",
               step_bench_fields(o).c_str(), static_cast<long long>(o.steps), o.batch * o.steps / seconds,
               1e3 * seconds / o.steps, peak_mib, last.total, omp_get_max_threads(), precision_text(o.precision),
               kernels.empty() ? "" : (" kernels=\"" + kernels + "\"").c_str());
  std::fflush(out);
  return 0;
}

}  // namespace csg::bench
