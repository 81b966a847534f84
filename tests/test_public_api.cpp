// tests/test_public_api.cpp — csg/csg.h is the whole public API: it includes every header of
// include/csg/ and compiles on its own (this file includes nothing else of csg's).
#include "csg/csg.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

TEST(PublicApi, CsgHIncludesEveryPublicHeader) {
  std::ifstream f("include/csg/csg.h");
  ASSERT_TRUE(f.good()) << "run from the repository root";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  int headers = 0;
  for (const auto& e : fs::recursive_directory_iterator("include/csg")) {
    if (e.path().extension() != ".h" || e.path().filename() == "csg.h") continue;
    const std::string name = fs::relative(e.path(), "include").generic_string();
    EXPECT_NE(text.find("#include \"" + name + "\""), std::string::npos)
        << name << " is a public header that csg/csg.h does not include: add it there";
    ++headers;
  }
  EXPECT_GT(headers, 30);
}

TEST(PublicApi, ATensorRoundTripsThroughTheOneInclude) {
  csg::Tensor t = csg::from_vector(std::vector<double>{1.0, 2.0, 3.0}, {3});
  EXPECT_EQ(t.numel(), 3);
  EXPECT_DOUBLE_EQ(t.to_vector()[2], 3.0);
}
