// src/core/cuda_probe.h — what the CUDA runtime said when asked for a device, in plain C++
// (filled by kernels/runtime.cu), and the one line csg::cuda::status() makes of it.
#pragma once
#include <string>

namespace csg {

struct CudaProbe {
  enum class Result {
    Ok,            // a device can be used
    NoDriver,      // no NVIDIA driver (libcuda) on this machine
    DriverTooOld,  // cudaErrorInsufficientDriver: the driver predates the runtime csg was built with
    NoDevice,      // the driver sees no GPU
    Error,         // any other failure of cudaGetDeviceCount
  };
  Result result = Result::Error;
  int driver_version = 0;   // cudaDriverGetVersion: 1000*major + 10*minor; 0 without a driver
  int runtime_version = 0;  // cudaRuntimeGetVersion, same encoding
  std::string error;        // the runtime's error text, when not Ok
  std::string device;       // name, memory, compute capability, when Ok
  int compute_major = 0, compute_minor = 0;  // the device's compute capability, when Ok
};

// "13.0" for 13000, "12.4" for 12040, "none" for 0.
std::string cuda_version_str(int version);

// One line: the device and both versions, or why CUDA cannot be used and what to do.
std::string describe_cuda_probe(const CudaProbe& p);

}  // namespace csg
