// tests/test_code_shape.cpp — the training loop and the digits benchmark stay readable top-down: no
// function in src/train or src/digits is longer than 80 lines (tools/function_lengths.py).
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/testing.h"

TEST(CodeShape, NoFunctionInTrainOrDigitsIsOver80Lines) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  csg::testing::TempDir tmp;
  const csg::testing::ShellResult r =
      csg::testing::run_shell("python3 tools/function_lengths.py --max 80 src/train src/digits", tmp / "lengths.txt");
  EXPECT_EQ(r.status, 0) << r.output << "split the function(s) above into named steps (docs/walkthrough.md, chapter 6)";
  EXPECT_NE(r.output.find("0 function(s) over 80 lines"), std::string::npos) << r.output;
}

// The tool finds a long function, so the test above can fail.
TEST(CodeShape, TheToolSeesALongFunction) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  csg::testing::TempDir tmp;
  const std::string file = tmp / "long.cpp";
  std::string text = "namespace a {\nint f(int x) {\n";
  for (int i = 0; i < 90; ++i) text += "  x += " + std::to_string(i) + ";\n";
  text += "  return x;\n}\n}  // namespace a\n";
  std::ofstream(file) << text;
  const csg::testing::ShellResult r = csg::testing::run_shell("python3 tools/function_lengths.py --max 80 " + file,
                                                              tmp / "lengths.txt");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 function(s) over 80 lines"), std::string::npos) << r.output;
}
