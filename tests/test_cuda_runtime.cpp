// tests/test_cuda_runtime.cpp — the CUDA path's behaviour that a machine without a GPU can
// check: the wording of csg::cuda::status() for each probe result (a GPU the build has no code
// for among them) and which compiled architecture a GPU runs, CSG_REQUIRE_GPU, the
// classification of allocation and cuDNN failures, launch-failure messages, the conv
// algorithm cache's alignment key, and the PTX embedded in the build.
#include <gtest/gtest-spi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "tests/expected_tensors.h"
#include "tests/testing.h"

#ifdef CSG_WITH_CUDA
#include <cuda_runtime_api.h>
#include <cudnn.h>

#endif

using namespace csg;
using csg::testing::expect_error_with;

namespace {

CudaProbe probe_with(CudaProbe::Result r, int driver, int runtime) {
  CudaProbe p;
  p.result = r;
  p.driver_version = driver;
  p.runtime_version = runtime;
  p.error = "CUDA driver version is insufficient for CUDA runtime version";
  p.device = "NVIDIA H200, 139.8 GiB, compute capability 9.0";
  return p;
}

bool contains(const std::string& s, const std::string& w) { return s.find(w) != std::string::npos; }

// Sets an environment variable for one scope and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::make_unique<std::string>(old);
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::unique_ptr<std::string> old_;
};

void require_cuda_in_a_test() { CSG_REQUIRE_CUDA(); }

}  // namespace

TEST(CudaStatus, NamesVersionsAndWhatToDo) {
  EXPECT_EQ(cuda_version_str(13000), "13.0");
  EXPECT_EQ(cuda_version_str(12040), "12.4");
  EXPECT_EQ(cuda_version_str(0), "none");

  const std::string ok = describe_cuda_probe(probe_with(CudaProbe::Result::Ok, 13010, 13000));
  for (const char* w : {"CUDA device: NVIDIA H200", "compute capability 9.0", "driver supports CUDA 13.1",
                        "runtime CUDA 13.0"})
    EXPECT_TRUE(contains(ok, w)) << w << " not in: " << ok;

  const std::string old = describe_cuda_probe(probe_with(CudaProbe::Result::DriverTooOld, 12040, 13000));
  for (const char* w : {"no usable CUDA device", "driver is too old", "supports CUDA 12.4", "CUDA 13.0 runtime",
                        "update the driver"})
    EXPECT_TRUE(contains(old, w)) << w << " not in: " << old;

  const std::string none = describe_cuda_probe(probe_with(CudaProbe::Result::NoDriver, 0, 13000));
  for (const char* w : {"no NVIDIA driver", "CUDA 13.0", "--device cpu"})
    EXPECT_TRUE(contains(none, w)) << w << " not in: " << none;

  const std::string no_gpu = describe_cuda_probe(probe_with(CudaProbe::Result::NoDevice, 13000, 13000));
  for (const char* w : {"sees no GPU", "CUDA_VISIBLE_DEVICES", "driver supports CUDA 13.0"})
    EXPECT_TRUE(contains(no_gpu, w)) << w << " not in: " << no_gpu;

  const std::string other = describe_cuda_probe(probe_with(CudaProbe::Result::Error, 13000, 13000));
  EXPECT_TRUE(contains(other, "insufficient")) << other;
}

// Which code of a build a GPU runs: machine code of its own major version and no newer minor,
// else PTX no newer than the GPU, else none (the rules of CUDA's binary compatibility).
TEST(CudaStatus, ArchitectureMatchFollowsCudaCompatibility) {
  const std::vector<int> list = {75, 80, 86, 89, 90};
  EXPECT_EQ(parse_arch_list("75 80 86 89 90"), list);
  EXPECT_EQ(parse_arch_list(" 90\tx 100 "), (std::vector<int>{90, 100}));
  EXPECT_EQ(describe_archs(list, 90), "sm_75 sm_80 sm_86 sm_89 sm_90 + compute_90 PTX");
  EXPECT_EQ(arch_code_for(8, 6, list, 90), "sm_86 code");   // RTX 30xx
  EXPECT_EQ(arch_code_for(8, 7, list, 90), "sm_86 code");   // 8.7 runs 8.6 machine code
  EXPECT_EQ(arch_code_for(9, 0, list, 90), "sm_90 code");   // H100
  EXPECT_EQ(arch_code_for(7, 5, list, 90), "sm_75 code");   // T4
  EXPECT_EQ(arch_code_for(8, 0, {90}, 90), "");             // an sm_90-only build on an A100
  EXPECT_EQ(arch_code_for(7, 0, list, 90), "");             // V100: not in a CUDA 13 list
  EXPECT_EQ(arch_code_for(7, 2, {70}, 70), "sm_70 code");
  const std::string jit = arch_code_for(10, 0, list, 90);  // B200: the driver compiles the PTX
  EXPECT_TRUE(contains(jit, "compute_90 PTX") && contains(jit, "make CUDA_ARCH=100")) << jit;
  EXPECT_EQ(arch_code_for(9, 0, {80}, 80).rfind("compute_80 PTX", 0), 0u);

  // A GPU the build has no code for: named with its capability and the make command that fixes it.
  CudaProbe p = probe_with(CudaProbe::Result::NotBuiltFor, 13000, 13000);
  p.device = "NVIDIA A100-SXM4-80GB, 79.2 GiB, compute capability 8.0";
  p.compute_major = 8;
  p.compute_minor = 0;
  p.sass_archs = {90};
  p.ptx_arch = 90;
  const std::string a100 = describe_cuda_probe(p);
  for (const char* w : {"no usable CUDA device", "built for sm_90 + compute_90 PTX", "compute capability 8.0",
                        "make CUDA_ARCH=80", "--device cpu"})
    EXPECT_TRUE(contains(a100, w)) << w << " not in: " << a100;
  EXPECT_FALSE(contains(a100, "CUDA 12")) << a100;
  p.device = "Tesla V100-SXM2-32GB, 31.7 GiB, compute capability 7.0";
  p.compute_major = 7;
  p.sass_archs = list;
  const std::string v100 = describe_cuda_probe(p);
  for (const char* w : {"compute capability 7.0", "make CUDA_ARCH=70", "CUDA 12 toolkit", "CUDA_HOME="})
    EXPECT_TRUE(contains(v100, w)) << w << " not in: " << v100;
  // A usable GPU: which code it runs.
  CudaProbe ok = probe_with(CudaProbe::Result::Ok, 13000, 13000);
  ok.compute_major = 9;
  ok.sass_archs = list;
  ok.ptx_arch = 90;
  EXPECT_TRUE(contains(describe_cuda_probe(ok), "runs the build's sm_90 code")) << describe_cuda_probe(ok);
}

TEST(CudaStatus, ThisMachine) {
  const std::string s = cuda::status();
  // The architectures the Makefile compiled in reach the program (`csg info` prints them).
  EXPECT_EQ(contains(cuda::built_architectures(), " PTX"), cuda::built_with_cuda()) << cuda::built_architectures();
  if (!cuda::built_with_cuda()) {
    EXPECT_TRUE(contains(s, "without CUDA")) << s;
  } else if (cuda::available()) {
    EXPECT_TRUE(contains(s, "CUDA device: ") && contains(s, "runtime CUDA")) << s;
    EXPECT_TRUE(contains(s, "runs the build's ")) << "the build covers this GPU, and says how: " << s;
  } else {  // every reason names the driver
    EXPECT_TRUE(contains(s, "no usable CUDA device (") && contains(s, "driver")) << s;
  }
}

TEST(CudaStatus, RequireGpuTurnsTheSkipIntoAFailure) {
  if (cuda::available()) {
    require_cuda_in_a_test();  // nothing to skip or fail
    return;
  }
  ScopedEnv require("CSG_REQUIRE_GPU", "1");
  EXPECT_FATAL_FAILURE(require_cuda_in_a_test(), "CSG_REQUIRE_GPU=1 but no usable CUDA device");
}

#ifdef CSG_WITH_CUDA

TEST(CudaRuntime, OnlyAnAllocationFailureIsOutOfMemory) {
  try {
    kernels::fail_device_alloc(cudaErrorMemoryAllocation, size_t(3) << 30, size_t(1) << 30);
    FAIL() << "nothing thrown";
  } catch (const OutOfMemory& e) {
    EXPECT_TRUE(contains(e.what(), "out of memory") && contains(e.what(), "--batch-size")) << e.what();
  }
  // A kernel's fault surfacing at the next cudaMalloc is not out-of-memory.
  try {
    kernels::fail_device_alloc(cudaErrorIllegalAddress, 1 << 20, 0);
    FAIL() << "nothing thrown";
  } catch (const OutOfMemory& e) {
    FAIL() << "reported as out of memory: " << e.what();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_FALSE(contains(msg, "--batch-size")) << msg;
    for (const char* w : {"cudaMalloc", "cudaErrorIllegalAddress", "CSG_CUDA_SYNC=1"})
      EXPECT_TRUE(contains(msg, w)) << w << " not in: " << msg;
  }
}

TEST(CudaRuntime, LaunchFailureNamesTheKernel) {
  const std::string launch = kernels::launch_failure_message("argmax_rows_kernel", "invalid argument", false);
  EXPECT_TRUE(contains(launch, "argmax_rows_kernel") && contains(launch, "failed to launch") &&
              contains(launch, "set CSG_CUDA_SYNC=1"))
      << launch;
  const std::string synced = kernels::launch_failure_message("sgd_kernel", "an illegal memory access", true);
  EXPECT_TRUE(contains(synced, "sgd_kernel") && contains(synced, "failed while running") &&
              contains(synced, "an illegal memory access"))
      << synced;
}

TEST(CudaRuntime, ConvCacheKeysOnAlignment) {
  alignas(256) static float buf[256];
  EXPECT_EQ(kernels::pointer_alignment({buf, buf + 64}), 256);
  EXPECT_EQ(kernels::pointer_alignment({buf, buf + 1}), 4);   // an offset image of a chunked call
  EXPECT_EQ(kernels::pointer_alignment({buf + 2, buf}), 8);
  EXPECT_EQ(kernels::pointer_alignment({buf + 4}), 16);
  EXPECT_EQ(kernels::pointer_alignment({nullptr}), 256);
}

TEST(CudaRuntime, ConvFallsBackOnlyWhenCudnnRefuses) {
  EXPECT_TRUE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_NOT_SUPPORTED));
  EXPECT_TRUE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_NOT_SUPPORTED_SHAPE));
  EXPECT_TRUE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER));
  EXPECT_TRUE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED));
  EXPECT_FALSE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_EXECUTION_FAILED));
  EXPECT_FALSE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_INTERNAL_ERROR));
  EXPECT_FALSE(kernels::conv2d_try_next_algorithm(CUDNN_STATUS_SUCCESS));
}

// The build embeds SASS for every CUDA_ARCH and PTX for the newest, so that a GPU newer than
// the list still finds a kernel image (without a GPU at build time: sm_75 .. sm_90 SASS +
// compute_90 PTX; tests/test_build.cpp checks the choice).
// PTX is stored as text in the fat binary: its ".target sm_NN" line shows it is there.
TEST(CudaBuild, EmbedsPtxForTheNewestArchitecture) {
  const std::string lib = "build/libcsg.a";
  if (!csg::testing::file_exists(lib)) GTEST_SKIP() << "needs " << lib << " (run from the repository root)";
  const std::vector<char> bytes = csg::testing::read_bytes(lib);
  const std::string needle = ".target sm_";
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()), bytes.end())
      << "no PTX in " << lib << ": the Makefile must add -gencode arch=compute_NN,code=compute_NN";
}

#endif  // CSG_WITH_CUDA
