// src/metrics/text_format.h — small text helpers shared by the metric tables and CSV rows.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "csg/error.h"

namespace csg::metrics_detail {

// `names` as given (checked to hold n entries), or "class 0" ... "class n-1".
inline std::vector<std::string> class_names_or_default(const char* what, int64_t n, std::vector<std::string> names) {
  if (names.empty()) {
    for (int64_t c = 0; c < n; ++c) names.push_back("class " + std::to_string(c));
    return names;
  }
  CSG_CHECK(static_cast<int64_t>(names.size()) == n, what, ": ", names.size(), " class names given for ", n,
            " classes");
  return names;
}

// printf-style formatting into a std::string.
template <class... Args>
std::string format(const char* fmt, Args... args) {
  int len = std::snprintf(nullptr, 0, fmt, args...);
  std::string out(static_cast<size_t>(len), '\0');
  std::snprintf(out.data(), out.size() + 1, fmt, args...);
  return out;
}

// A value with 4 decimals, "nan" for NaN (CSV).
inline std::string fixed4(double v) { return std::isnan(v) ? std::string("nan") : format("%.4f", v); }

// A CSV field: quoted when it holds a comma, quote or newline.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

// "traffic light" -> "traffic_light", for CSV column names.
inline std::string column_name(const std::string& prefix, const std::string& name) {
  std::string out = prefix;
  for (char ch : name) out += (ch == ' ' ? '_' : ch);
  return csv_field(out);
}

inline int digits(int64_t v) { return static_cast<int>(std::to_string(v).size()); }

}  // namespace csg::metrics_detail
