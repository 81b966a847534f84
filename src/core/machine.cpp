// src/core/machine.cpp — names the CPU and the OpenBLAS kernels beside printed results.
#include <cblas.h>

#include <fstream>
#include <string>

#include "csg/version.h"

namespace csg {

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t begin = line.find_first_not_of(" \t", colon + 1);
    return begin == std::string::npos ? "unknown CPU" : line.substr(begin);
  }
  return "unknown CPU";
}

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name && *name ? std::string("OpenBLAS ") + name : "OpenBLAS (core unknown)";
}

}  // namespace csg
