// src/core/checks.cpp — the op entry checks and the error reporter.
#include "csg/error.h"
#include "src/core/dispatch.h"

namespace csg {
namespace detail {
void fail(const char* file, int line, const std::string& msg) {
  throw Error(msg + " (" + file + ":" + std::to_string(line) + ")");
}
}  // namespace detail

void check_defined(const char* op, const Tensor& t, const char* what) {
  CSG_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
}
void check_float(const char* op, const Tensor& t, const char* what) {
  check_defined(op, t, what);
  CSG_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, op, ": ", what, " must be f32 or f64, got ",
            t.describe());
  check_cuda_float(op, t);
}
void check_dim(const char* op, const Tensor& t, int64_t dim, const char* what) {
  check_defined(op, t, what);
  CSG_CHECK(t.dim() == dim, op, ": ", what, " must be ", dim, "-D, got ", t.describe());
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  CSG_CHECK(a.device() == b.device(), op, ": tensors on different devices: ", a.describe(), " and ", b.describe(),
            "; move one with .to(Device::", a.device() == Device::CPU ? "CPU" : "CUDA", ")");
}
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  CSG_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", a.describe(), " and ", b.describe());
}
void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  CSG_CHECK(a.shape() == b.shape(), op, ": shape mismatch: ", a.describe(), " and ", b.describe());
}
void check_channel_vector(const char* op, const Tensor& ref, int64_t channel_dim, const char* channel_name,
                          const Tensor& t, const char* what, bool optional) {
  const int64_t n = ref.size(channel_dim);
  if (!t.defined()) {
    CSG_CHECK(optional, op, ": ", what, " is undefined; it is required (shape [", n, "])");
    return;
  }
  check_float(op, t, what);
  CSG_CHECK(t.dim() == 1 && t.size(0) == n, op, ": ", what, " must be [", channel_name, "] = [", n, "] for ",
            channel_dim == 0 ? "weight " : "input ", ref.describe(), ", got ", t.describe());
  check_same_device(op, ref, t);
  check_same_dtype(op, ref, t);
}
void check_cuda_float(const char* op, const Tensor& t) {
  CSG_CHECK(!(t.is_cuda() && t.dtype() == DType::F64), op, ": CUDA kernels are float32; got ", t.describe(),
            " (f64 is for CPU gradient checks)");
}
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  CSG_CHECK(d >= 0 && d < std::max<int64_t>(ndim, 1), op, ": dim ", dim, " out of range for a ", ndim, "-D tensor");
  return d;
}

}  // namespace csg
