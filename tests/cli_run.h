// tests/cli_run.h — runs the `csg` command line in the test process, capturing what it prints.
#pragma once
#include <string>
#include <vector>

namespace csg::testing {

struct CliResult {
  int status;
  std::string out, err;
};

// `csg args...`: its exit status and its stdout and stderr.
CliResult run_cli(std::vector<std::string> args);

}  // namespace csg::testing
