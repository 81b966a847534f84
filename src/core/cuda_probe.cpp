// src/core/cuda_probe.cpp — the wording of csg::cuda::status() and the architecture match;
// compiled in every build so that their cases are tested without a GPU.
#include "src/core/cuda_probe.h"

#include <sstream>

#include "csg/error.h"

namespace csg {

std::string cuda_version_str(int v) {
  if (v <= 0) return "none";
  return detail::cat(v / 1000, ".", (v % 1000) / 10);
}

std::vector<int> parse_arch_list(const std::string& text) {
  std::vector<int> archs;
  std::istringstream in(text);
  for (std::string word; in >> word;)
    if (word.find_first_not_of("0123456789") == std::string::npos) archs.push_back(std::stoi(word));
  return archs;
}

std::string describe_archs(const std::vector<int>& sass, int ptx) {
  std::string s;
  for (int a : sass) s += (s.empty() ? "" : " ") + ("sm_" + std::to_string(a));
  if (ptx > 0) s += (s.empty() ? "" : " + ") + ("compute_" + std::to_string(ptx) + " PTX");
  return s.empty() ? "no architecture recorded" : s;
}

std::string arch_code_for(int major, int minor, const std::vector<int>& sass, int ptx) {
  const int device = 10 * major + minor;
  // Machine code for X.y runs on X.z with z >= y; prefer the closest.
  int best = -1;
  for (int a : sass)
    if (a / 10 == major && a <= device && a > best) best = a;
  if (best >= 0) return "sm_" + std::to_string(best) + " code";
  if (ptx > 0 && ptx <= device)
    return "compute_" + std::to_string(ptx) + " PTX (compiled by the driver at start-up; make CUDA_ARCH=" +
           std::to_string(device) + " builds machine code for it)";
  return "";
}

namespace {

// What to do about a GPU the build has no code for.
std::string rebuild_advice(const CudaProbe& p) {
  const std::string arch = std::to_string(10 * p.compute_major + p.compute_minor);
  std::string s = "rebuild for it with `make CUDA_ARCH=" + arch + "` (or use --device cpu)";
  // CUDA 13 no longer compiles for sm_70 / sm_72 (Volta); CUDA 12 still does.
  if (p.runtime_version >= 13000 && 10 * p.compute_major + p.compute_minor < 75)
    s += "; the CUDA " + cuda_version_str(p.runtime_version) + " toolkit cannot compile for sm_" + arch +
         ": build with a CUDA 12 toolkit (make CUDA_HOME=/usr/local/cuda-12.x CUDA_ARCH=" + arch + ")";
  return s;
}

}  // namespace

std::string describe_cuda_probe(const CudaProbe& p) {
  const std::string driver = cuda_version_str(p.driver_version), runtime = cuda_version_str(p.runtime_version);
  const std::string versions = "driver supports CUDA " + driver + ", runtime CUDA " + runtime;
  switch (p.result) {
    case CudaProbe::Result::Ok: {
      const std::string code = arch_code_for(p.compute_major, p.compute_minor, p.sass_archs, p.ptx_arch);
      return "CUDA device: " + p.device + "; " + versions + (code.empty() ? "" : "; runs the build's " + code);
    }
    case CudaProbe::Result::NoDriver:
      return "no usable CUDA device (no NVIDIA driver found; csg uses the CUDA " + runtime +
             " runtime: install a driver for CUDA " + runtime + " or newer, or use --device cpu)";
    case CudaProbe::Result::DriverTooOld:
      return "no usable CUDA device (the NVIDIA driver is too old: it supports CUDA " + driver +
             " and csg was built with the CUDA " + runtime + " runtime; update the driver, or rebuild with a CUDA " +
             "toolkit no newer than " + driver + " via CUDA_HOME)";
    case CudaProbe::Result::NoDevice:
      return "no usable CUDA device (the driver sees no GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES; " + versions +
             ")";
    case CudaProbe::Result::NotBuiltFor:
      return "no usable CUDA device (this csg was built for " + describe_archs(p.sass_archs, p.ptx_arch) +
             ", which the GPU " + p.device + " cannot run: " + rebuild_advice(p) + "; " + versions + ")";
    case CudaProbe::Result::Error:
      break;
  }
  return "no usable CUDA device (" + p.error + "; " + versions + ")";
}

}  // namespace csg
