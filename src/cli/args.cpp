// src/cli/args.cpp — "--flag value" / "--flag=value" parsing with errors that name the flag.
#include "src/cli/args.h"

#include <algorithm>

namespace csg::cli {

Args::Args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& switches) {
  auto known = [&](const std::string& f) {
    return std::find(flags.begin(), flags.end(), f) != flags.end() ||
           std::find(switches.begin(), switches.end(), f) != switches.end();
  };
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string value;
    size_t eq = a.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    CSG_CHECK(known(a), "unknown option ", a);
    bool is_switch = std::find(switches.begin(), switches.end(), a) != switches.end();
    if (!is_switch && !inline_value) {
      CSG_CHECK(i + 1 < argc, "option ", a, " needs a value");
      value = argv[++i];
    }
    values_[a] = is_switch && !inline_value ? "1" : value;
  }
}

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& flag) const {
  auto it = values_.find(flag);
  CSG_CHECK(it != values_.end(), "missing required option ", flag);
  return it->second;
}

long long Args::get_int(const std::string& flag, long long fallback) const {
  if (!has(flag)) return fallback;
  try {
    size_t used = 0;
    long long v = std::stoll(get(flag, ""), &used);
    CSG_CHECK(used == get(flag, "").size(), "");
    return v;
  } catch (...) {
    CSG_FAIL("option ", flag, " expects an integer, got '", get(flag, ""), "'");
  }
}

double Args::get_double(const std::string& flag, double fallback) const {
  if (!has(flag)) return fallback;
  try {
    size_t used = 0;
    double v = std::stod(get(flag, ""), &used);
    CSG_CHECK(used == get(flag, "").size(), "");
    return v;
  } catch (...) {
    CSG_FAIL("option ", flag, " expects a number, got '", get(flag, ""), "'");
  }
}

}  // namespace csg::cli
