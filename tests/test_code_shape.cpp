// tests/test_code_shape.cpp — the training loop and the digits benchmark stay readable top-down: no
// function in src/train or src/digits is longer than 80 lines (tools/function_lengths.py).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/testing.h"

TEST(CodeShape, NoFunctionInTrainOrDigitsIsOver80Lines) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  std::string out;
  FILE* p = popen("python3 tools/function_lengths.py --max 80 src/train src/digits 2>&1", "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  EXPECT_EQ(status, 0) << out << "split the function(s) above into named steps (docs/walkthrough.md, chapter 6)";
  EXPECT_NE(out.find("0 function(s) over 80 lines"), std::string::npos) << out;
}

// The tool finds a long function, so the test above can fail.
TEST(CodeShape, TheToolSeesALongFunction) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  csg::testing::TempDir tmp;
  const std::string file = tmp / "long.cpp";
  std::string text = "namespace a {\nint f(int x) {\n";
  for (int i = 0; i < 90; ++i) text += "  x += " + std::to_string(i) + ";\n";
  text += "  return x;\n}\n}  // namespace a\n";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
  const std::string cmd = "python3 tools/function_lengths.py --max 80 " + file + " >/dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}
