// tests/test_build.cpp — the Makefile's choice of GPU architectures, seen through `make -n` (which
// prints the nvcc lines it would run, in a scratch BUILD folder): without a GPU the default list,
// more than one sm_ target; with one (a stand-in nvidia-smi here) its own compute capability;
// CUDA_ARCH over both; an architecture this nvcc cannot compile is refused before any compile.
// Skips, saying why, without the repository's Makefile in the working directory or without nvcc.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/testing.h"

namespace fs = std::filesystem;

namespace {

using Make = csg::testing::ShellResult;

// `make -n` of one kernel object in a scratch BUILD folder, the parent make's settings cleared.
Make make_dry_run(const csg::testing::TempDir& tmp, const std::string& env, const std::string& args) {
  const std::string build = tmp / "build", log = tmp / "make.txt";
  const std::string cmd = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CUDA_ARCH " + env + " make -n BUILD='" + build +
                          "' " + args + " '" + build + "/kernels/copy.o'";
  return csg::testing::run_shell(cmd, log);
}

// The "code=sm_NN" and "code=compute_NN" targets of the nvcc line.
std::set<std::string> targets(const std::string& output, const std::string& kind) {
  std::set<std::string> found;
  const std::string key = "code=" + kind + "_";
  for (size_t at = output.find(key); at != std::string::npos; at = output.find(key, at + 1)) {
    size_t end = at + key.size();
    while (end < output.size() && std::isdigit(static_cast<unsigned char>(output[end]))) ++end;
    found.insert(output.substr(at + 5, end - at - 5));
  }
  return found;
}

// Why these tests cannot run here ("" when they can).
std::string why_not(const csg::testing::TempDir& tmp) {
  if (!fs::exists("Makefile") || !fs::exists("kernels/copy.cu")) return "run from the repository root (make test does)";
  const Make m = make_dry_run(tmp, "", "");
  if (m.output.find("CUDA ✓") == std::string::npos) return "this machine builds without CUDA (no nvcc)";
  return "";
}

bool gpu_here() {
  return std::system("nvidia-smi --query-gpu=compute_cap --format=csv,noheader > /dev/null 2>&1") == 0;
}

}  // namespace

TEST(BuildArchitectures, WithoutAGpuTheDefaultListHasSeveral) {
  csg::testing::TempDir tmp;
  if (const std::string why = why_not(tmp); !why.empty()) GTEST_SKIP() << why;
  if (gpu_here()) GTEST_SKIP() << "this machine has a GPU: the build is for its architecture (the next test)";
  const Make m = make_dry_run(tmp, "", "");
  ASSERT_EQ(m.status, 0) << m.output;
  const std::set<std::string> sass = targets(m.output, "sm");
  EXPECT_GE(sass.size(), 2u) << m.output;
  // V100 .. H100, less what this nvcc no longer compiles (CUDA 13 dropped sm_70).
  for (const char* a : {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90"}) EXPECT_EQ(sass.count(a), 1u) << a << m.output;
  EXPECT_EQ(targets(m.output, "compute"), (std::set<std::string>{"compute_90"})) << "PTX of the newest only";
  EXPECT_NE(m.output.find("no GPU here: the default list"), std::string::npos) << m.output;
}

TEST(BuildArchitectures, AGpuAtBuildTimeIsBuiltForAlone) {
  csg::testing::TempDir tmp;
  if (const std::string why = why_not(tmp); !why.empty()) GTEST_SKIP() << why;
  // A stand-in nvidia-smi that reports an RTX 30xx (compute capability 8.6).
  const std::string bin = tmp.subdir("bin");
  std::ofstream(bin + "/nvidia-smi") << "#!/bin/sh\necho 8.6\n";
  fs::permissions(bin + "/nvidia-smi", fs::perms::owner_all);
  const Make m = make_dry_run(tmp, "PATH='" + bin + "':\"$PATH\"", "");
  ASSERT_EQ(m.status, 0) << m.output;
  EXPECT_EQ(targets(m.output, "sm"), (std::set<std::string>{"sm_86"})) << m.output;
  EXPECT_EQ(targets(m.output, "compute"), (std::set<std::string>{"compute_86"})) << m.output;
  EXPECT_NE(m.output.find("the GPU of this machine"), std::string::npos) << m.output;
}

TEST(BuildArchitectures, CudaArchOverridesAndUnsupportedOnesAreRefused) {
  csg::testing::TempDir tmp;
  if (const std::string why = why_not(tmp); !why.empty()) GTEST_SKIP() << why;
  const Make two = make_dry_run(tmp, "", "CUDA_ARCH='80 90'");
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_EQ(targets(two.output, "sm"), (std::set<std::string>{"sm_80", "sm_90"})) << two.output;
  EXPECT_EQ(targets(two.output, "compute"), (std::set<std::string>{"compute_90"})) << two.output;
  // An architecture nvcc does not know is a make error naming it, before anything compiles.
  const Make bad = make_dry_run(tmp, "", "CUDA_ARCH=42");
  EXPECT_NE(bad.status, 0) << bad.output;
  EXPECT_NE(bad.output.find("sm_42 (CUDA_ARCH) is not one"), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find("nvcc -"), std::string::npos) << "nothing may compile: " << bad.output;
}
