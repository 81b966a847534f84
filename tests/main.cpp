// tests/main.cpp — GoogleTest entry point; ends with one plain summary line
// ("tests: N passed, N failed, N skipped") and says why GPU tests were skipped. `csg_tests --csg-cli
// ARGS...` runs the command line `csg ARGS...` instead: the tests that need a process of their own
// (signals) start this binary so, with the same build and sanitizers as the suite.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "csg/cuda.h"
#include "tests/testing.h"

namespace {
class Summary : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest& u) override {
    std::printf("%s\n", csg::cuda::available() ? "GPU tests ran on the CUDA device."
                                               : ("GPU tests skipped: " + csg::cuda::status()).c_str());
    std::printf("tests: %d passed, %d failed, %d skipped\n", u.successful_test_count(), u.failed_test_count(),
                u.skipped_test_count());
    std::fflush(stdout);
  }
};
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--csg-cli") == 0) return csg::cli::run_cli(argc - 1, argv + 1);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new Summary);
  return RUN_ALL_TESTS();
}
