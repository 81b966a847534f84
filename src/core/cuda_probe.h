// src/core/cuda_probe.h — what the CUDA runtime said when asked for a device, in plain C++
// (filled by kernels/runtime.cu), the one line csg::cuda::status() makes of it, and which of the
// architectures compiled in (Makefile CUDA_ARCH) a device of a given compute capability runs.
#pragma once
#include <string>
#include <vector>

namespace csg {

struct CudaProbe {
  enum class Result {
    Ok,            // a device can be used
    NoDriver,      // no NVIDIA driver (libcuda) on this machine
    DriverTooOld,  // cudaErrorInsufficientDriver: the driver predates the runtime csg was built with
    NoDevice,      // the driver sees no GPU
    NotBuiltFor,   // a GPU is there, but the build holds no code it can run (cudaErrorNoKernelImageForDevice)
    Error,         // any other failure of cudaGetDeviceCount
  };
  Result result = Result::Error;
  int driver_version = 0;   // cudaDriverGetVersion: 1000*major + 10*minor; 0 without a driver
  int runtime_version = 0;  // cudaRuntimeGetVersion, same encoding
  std::string error;        // the runtime's error text, when not Ok
  std::string device;       // name, memory, compute capability, when Ok or NotBuiltFor
  int compute_major = 0, compute_minor = 0;  // the device's compute capability, when Ok or NotBuiltFor
  std::vector<int> sass_archs;  // the architectures compiled in as machine code (SASS): 75, 80, ...
  int ptx_arch = 0;             // the one compiled in as PTX (the newest), 0 when unknown
};

// "13.0" for 13000, "12.4" for 12040, "none" for 0.
std::string cuda_version_str(int version);

// "75 80 86" -> {75, 80, 86}; anything that is not a number is skipped.
std::vector<int> parse_arch_list(const std::string& text);
// "sm_75 sm_80 + compute_80 PTX", the architectures of a build as `csg info` names them.
std::string describe_archs(const std::vector<int>& sass, int ptx);

// How a GPU of compute capability major.minor runs what was compiled in: "sm_86 code" (machine
// code of its own major version and no newer minor), "compute_90 PTX (compiled by the driver at
// start-up)" (PTX of an architecture no newer than the GPU), or "" when nothing fits.
std::string arch_code_for(int major, int minor, const std::vector<int>& sass, int ptx);

// One line: the device and both versions, or why CUDA cannot be used and what to do. A GPU the
// build does not cover is named with its compute capability and the `make CUDA_ARCH=..` that fixes it.
std::string describe_cuda_probe(const CudaProbe& p);

}  // namespace csg
