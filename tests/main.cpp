// tests/main.cpp — GoogleTest entry point; ends with one plain summary line
// ("tests: N passed, N failed, N skipped") and says why GPU tests were skipped.
#include <gtest/gtest.h>

#include <cstdio>

#include "csg/cuda.h"

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
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new Summary);
  return RUN_ALL_TESTS();
}
