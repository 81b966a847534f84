// tests/expected_tensors.h — the "expected values" files that
// tools/reference/make_pth_fixtures.py writes next to each checkpoint fixture, and exact
// comparison of loaded tensors against them. Format, two lines per tensor:
//   <name> <f32|f64|i64> <ndim> <dims...>
//   <values, space separated; %.17g, so exact for f32/f64; nan/inf spelled out>
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "csg/io/named_tensor.h"

namespace csg::testing {

struct ExpectedTensor {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<std::string> values;  // as written; parsed per dtype when compared
};

inline std::vector<ExpectedTensor> read_expected(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path << " (run tests from the repository root)";
  std::vector<ExpectedTensor> out;
  std::string head, values;
  while (std::getline(in, head)) {
    if (head.empty()) continue;
    std::getline(in, values);
    std::istringstream h(head), v(values);
    ExpectedTensor e;
    std::string kind;
    int ndim = 0;
    h >> e.name >> kind >> ndim;
    e.dtype = kind == "f32" ? DType::F32 : kind == "f64" ? DType::F64 : DType::I64;
    e.shape.resize(ndim);
    for (auto& d : e.shape) h >> d;
    for (std::string s; v >> s;) e.values.push_back(s);
    out.push_back(e);
  }
  return out;
}

// Bit-exact equality (so -0 differs from 0), with NaN equal to NaN.
template <class T>
bool same_float(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

inline void expect_tensors_equal(const std::vector<NamedTensor>& got, const std::vector<ExpectedTensor>& want,
                                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const ExpectedTensor& w = want[i];
    const Tensor& t = got[i].tensor;
    SCOPED_TRACE(what + ": tensor " + std::to_string(i) + " '" + w.name + "'");
    EXPECT_EQ(got[i].name, w.name);
    ASSERT_TRUE(t.defined());
    EXPECT_EQ(t.device(), Device::CPU);
    // (Tensor::is_contiguous() reports false for some empty shapes, so only non-empty ones.)
    if (t.numel() > 0) {
      EXPECT_TRUE(t.is_contiguous());
    }
    ASSERT_EQ(t.dtype(), w.dtype) << dtype_name(t.dtype()) << " vs " << dtype_name(w.dtype);
    ASSERT_EQ(t.shape(), w.shape) << shape_str(t.shape()) << " vs " << shape_str(w.shape);
    ASSERT_EQ(static_cast<size_t>(t.numel()), w.values.size());
    for (size_t k = 0; k < w.values.size(); ++k) {
      const char* s = w.values[k].c_str();
      switch (w.dtype) {
        case DType::F32: {
          const float e = static_cast<float>(std::strtod(s, nullptr)), a = t.data<float>()[k];
          EXPECT_TRUE(same_float(a, e)) << "element " << k << ": " << a << " vs " << s;
          break;
        }
        case DType::F64: {
          const double e = std::strtod(s, nullptr), a = t.data<double>()[k];
          EXPECT_TRUE(same_float(a, e)) << "element " << k << ": " << a << " vs " << s;
          break;
        }
        case DType::I64: EXPECT_EQ(t.data<int64_t>()[k], std::strtoll(s, nullptr, 10)) << "element " << k; break;
      }
    }
  }
}

// A fresh path in gtest's temp directory (unique per process and call).
inline std::string temp_path(const std::string& name) {
  static int counter = 0;
  return ::testing::TempDir() + "csg_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Runs f, which must throw csg::Error whose message contains every word; returns the message.
template <class F>
std::string expect_error_with(F&& f, const std::vector<std::string>& words) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected csg::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected csg::Error containing '" << (words.empty() ? "" : words[0]) << "', nothing thrown";
  return "";
}

}  // namespace csg::testing
