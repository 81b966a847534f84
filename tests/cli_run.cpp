// tests/cli_run.cpp — see cli_run.h.
#include "tests/cli_run.h"

#include <gtest/gtest.h>

#include "src/cli/app.h"

namespace csg::testing {

CliResult run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "csg");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int status = cli::run_cli(static_cast<int>(argv.size()), argv.data());
  CliResult r{status, ::testing::internal::GetCapturedStdout(), ::testing::internal::GetCapturedStderr()};
  return r;
}

}  // namespace csg::testing
