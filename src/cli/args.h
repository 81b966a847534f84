// src/cli/args.h — a small "--flag value" parser shared by the commands.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "csg/error.h"

namespace csg::cli {

class Args {
 public:
  // `flags` lists the accepted --flags; those in `switches` take no value.
  Args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& switches = {});
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  std::string get(const std::string& flag, const std::string& fallback) const;
  std::string require(const std::string& flag) const;
  long long get_int(const std::string& flag, long long fallback) const;
  double get_double(const std::string& flag, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace csg::cli
