// tests/test_cli_flags.cpp — how every command reads its flags: a single-valued flag given twice
// takes its last value (and every --help says so), list flags collect every value, and range
// checks say the bound ("must be >= 1", "is not an integer"), never CLI11's DBL_MAX.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "csg/data/tiny.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::CliResult;
using csg::testing::run_cli_captured;

namespace {

using csg::testing::contains;

// Parses `args` (after "csg") with the real declarations; returns the option of the deepest command.
CLI::Option* parsed_option(CLI::App& app, std::vector<std::string> args, const std::string& name) {
  std::vector<std::string> argv_store = {"csg"};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  CLI::App* cmd = &app;
  for (std::vector<CLI::App*> subs = cmd->get_subcommands(); !subs.empty(); subs = cmd->get_subcommands())
    cmd = subs.front();
  return cmd->get_option(name);
}

}  // namespace

TEST(CliFlags, ARepeatedFlagTakesItsLastValue) {
  {
    cli::Invocation inv;
    auto app = cli::make_app(inv);
    EXPECT_EQ(parsed_option(*app, {"train", "visda", "--data", "d", "--epochs", "5", "--epochs", "2"}, "--epochs")
                  ->as<int>(),
              2);
  }
  {
    cli::Invocation inv;
    auto app = cli::make_app(inv);
    EXPECT_EQ(parsed_option(*app, {"predict", "--model", "a", "--model", "b", "x.png"}, "--model")->as<std::string>(),
              "b");
  }
  {  // a list flag collects every value
    cli::Invocation inv;
    auto app = cli::make_app(inv);
    EXPECT_EQ(parsed_option(*app, {"hse", "--data", "d", "--checkpoint", "a", "--checkpoint", "b"}, "--checkpoint")
                  ->as<std::vector<std::string>>(),
              (std::vector<std::string>{"a", "b"}));
  }
  // End to end: the run trains the last --epochs and records it.
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data"), out = tmp / "run";
  data::write_tiny_visda(data, 5, 16, 4);
  const CliResult r = run_cli_captured({"train", "visda", "--data", data, "--out", out, "--weights", "none", "--arch",
                                        "resnet18", "--width",
                                        "8", "--image-size", "32", "--batch-size", "8", "--queue-size", "64",
                                        "--embed-dim", "8", "--layers", "4", "--no-eval", "--quiet", "--workers", "0",
                                        "--epochs", "3", "--epochs", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "trained 2 steps")) << r.out;  // 16 images / batch 8, one epoch
  EXPECT_TRUE(contains(csg::testing::read_file_bytes(out + "/config.json"), "\"epochs\": \"1\""));
  // Every command's help says so.
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"train", "visda", "--help"},
                                              std::vector<std::string>{"predict", "--help"},
                                              std::vector<std::string>{"eval", "gta5", "--help"},
                                              std::vector<std::string>{"verify", "--help"}}) {
    const CliResult h = run_cli_captured(cmd);
    EXPECT_TRUE(contains(h.out, "A flag given more than once takes its last value")) << cmd[0] << ": " << h.out;
  }
}

TEST(CliFlags, RangeMessagesSayTheBoundInsteadOfDblMax) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"train", "visda", "--data", "d", "--image-size", "0"}, "--image-size: must be >= 1, got 0"},
      {{"train", "visda", "--data", "d", "--epochs", "0"}, "--epochs: must be >= 1, got 0"},
      {{"train", "visda", "--data", "d", "--width", "0"}, "--width: must be >= 1, got 0"},
      {{"train", "visda", "--data", "d", "--workers", "-1"}, "--workers: must be >= 0, got -1"},
      {{"train", "visda", "--data", "d", "--epochs", "2.5"}, "--epochs: 2.5 is not an integer"},
      {{"train", "visda", "--data", "d", "--lr", "0"}, "--lr: must be > 0 (a finite number), got 0"},
      {{"train", "visda", "--data", "d", "--lr", "nan"}, "--lr: must be > 0 (a finite number), got nan"},
      {{"train", "visda", "--data", "d", "--lambda", "-1"}, "--lambda: must be >= 0 (a finite number), got -1"},
      {{"train", "visda", "--data", "d", "--lr", "fast"}, "--lr: fast is not a number"},
      {{"predict", "--model", "m", "--threads", "-1", "x.png"}, "--threads: must be >= 0, got -1"},
      {{"predict", "--model", "m", "--threads", "abc", "x.png"}, "--threads: abc is not an integer"},
      {{"predict", "--model", "m", "--max-image-pixels", "0", "x.png"}, "--max-image-pixels: must be >= 1, got 0"},
      {{"train", "digits", "--seeds", "0"}, "--seeds: must be >= 1, got 0"},
  };
  for (const Case& c : cases) {
    const CliResult r = run_cli_captured(c.args);
    EXPECT_EQ(r.status, 2) << c.says;
    EXPECT_TRUE(contains(r.err, c.says)) << r.err;
    EXPECT_FALSE(contains(r.err, "179769")) << r.err;
  }
}
