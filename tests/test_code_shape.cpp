// tests/test_code_shape.cpp — the code keeps the shape a reader relies on: no function in src/train or
// src/digits is longer than 80 lines (tools/function_lengths.py), and tests and tools reach private
// headers only through tests/internals.h.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

namespace {

// "file: line" for every #include of a private header (under src/ or kernels/) in the source files
// under `dirs`, except in tests/internals.h.
std::vector<std::string> private_includes(const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  for (const std::string& dir : dirs)
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h" && ext != ".cc" && ext != ".cu")) continue;
      if (e.path().lexically_normal() == fs::path("tests/internals.h")) continue;
      std::ifstream in(e.path());
      for (std::string line; std::getline(in, line);)
        if (line.rfind("#include \"src/", 0) == 0 || line.rfind("#include \"kernels/", 0) == 0)
          found.push_back(e.path().string() + ": " + line);
    }
  return found;
}

}  // namespace

TEST(CodeShape, TestsAndToolsReachInternalsOnlyThroughInternalsH) {
  const std::vector<std::string> found = private_includes({"tests", "tools"});
  std::string list;
  for (const std::string& f : found) list += "\n  " + f;
  EXPECT_TRUE(found.empty()) << "include tests/testing.h (tests) or tests/internals.h (tools) instead, and list "
                                "the header in tests/internals.h:"
                             << list;
}

// The scan sees a private include, so the test above can fail.
TEST(CodeShape, TheIncludeScanSeesAPrivateHeader) {
  csg::testing::TempDir tmp;
  std::ofstream(tmp / "t.cpp") << "#include \"csg/tensor.h\"\n#include \"src/io/json.h\"\n";
  const std::vector<std::string> found = private_includes({tmp.str()});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("src/io/json.h"), std::string::npos);
}
