// src/core/cuda_probe.cpp — the wording of csg::cuda::status(); compiled in every build so
// that its cases are tested without a GPU.
#include "src/core/cuda_probe.h"

#include "csg/error.h"

namespace csg {

std::string cuda_version_str(int v) {
  if (v <= 0) return "none";
  return detail::cat(v / 1000, ".", (v % 1000) / 10);
}

std::string describe_cuda_probe(const CudaProbe& p) {
  const std::string driver = cuda_version_str(p.driver_version), runtime = cuda_version_str(p.runtime_version);
  const std::string versions = "driver supports CUDA " + driver + ", runtime CUDA " + runtime;
  switch (p.result) {
    case CudaProbe::Result::Ok:
      return "CUDA device: " + p.device + "; " + versions;
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
    case CudaProbe::Result::Error:
      break;
  }
  return "no usable CUDA device (" + p.error + "; " + versions + ")";
}

}  // namespace csg
