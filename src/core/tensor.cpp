// src/core/tensor.cpp — storage, tensor metadata, factories and host access.
// Views live in src/core/views.cpp, copies and conversions in src/core/copy.cpp.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "csg/alloc_stats.h"
#include "csg/autograd.h"
#include "csg/cuda.h"
#include "csg/tensor.h"
#include "src/core/dispatch.h"
#include "src/core/host_block_cache.h"

#ifdef CSG_WITH_CUDA
#include "kernels/runtime.h"
#endif

namespace csg {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
  }
  return 0;
}
const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
  }
  return "?";
}
const char* device_name(Device dev) { return dev == Device::CPU ? "cpu" : "cuda"; }

Device parse_device(const std::string& name, std::string* why) {
  if (name == "cpu") return Device::CPU;
  if (name == "auto") {
    CSG_CHECK(!cuda::gpu_not_built_for(), "--device auto: ", cuda::status());
    if (why) *why = cuda::status();
    return cuda::available() ? Device::CUDA : Device::CPU;
  }
  CSG_CHECK(name == "cuda", "--device ", name, ": expected auto, cpu or cuda");
  CSG_CHECK(cuda::available(), "--device cuda: ", cuda::status());
  return Device::CUDA;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}
int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= std::max<int64_t>(s[d], 1);
  }
  return st;
}

// ---- storage -------------------------------------------------------------------------------
namespace {
std::atomic<uint64_t> g_storage_allocations{0};
}  // namespace

uint64_t storage_allocations() { return g_storage_allocations.load(std::memory_order_relaxed); }

Storage::Storage(size_t nbytes, Device dev) : nbytes_(nbytes), device_(dev) {
  id_ = g_storage_allocations.fetch_add(1, std::memory_order_relaxed) + 1;
  if (dev == Device::CPU) {
    data_ = host_allocate(nbytes);  // 64-byte aligned for SIMD
  } else {
#ifdef CSG_WITH_CUDA
    CSG_CHECK(cuda::available(), "cannot allocate on CUDA: ", cuda::status());
    data_ = kernels::device_alloc(nbytes);
#else
    CSG_FAIL("cannot allocate on CUDA: this csg was built without CUDA");
#endif
  }
}
Storage::~Storage() {
  if (device_ == Device::CPU) {
    host_release(data_, nbytes_);
  } else {
#ifdef CSG_WITH_CUDA
    kernels::device_free(data_);
#endif
  }
}

// ---- tensor metadata -----------------------------------------------------------------------
TensorImpl& Tensor::impl() const {
  CSG_CHECK(impl_, "use of an undefined tensor (a default-constructed csg::Tensor)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim("size", d, dim())]; }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // nothing to lay out (as PyTorch)
  int64_t expect = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] != 1 && strides()[d] != expect) return false;
    expect *= shape()[d];
  }
  return true;
}

Tensor& Tensor::set_name(std::string n) {
  impl().name = std::move(n);
  return *this;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  std::string s = name().empty() ? "" : name() + " ";
  return s + dtype_name(dtype()) + shape_str(shape()) + " " + device_name(device());
}

template <>
float* Tensor::data<float>() const {
  CSG_CHECK(dtype() == DType::F32, "data<float>() on ", describe());
  return static_cast<float*>(storage().data()) + offset();
}
template <>
double* Tensor::data<double>() const {
  CSG_CHECK(dtype() == DType::F64, "data<double>() on ", describe());
  return static_cast<double*>(storage().data()) + offset();
}
template <>
int64_t* Tensor::data<int64_t>() const {
  CSG_CHECK(dtype() == DType::I64, "data<int64_t>() on ", describe());
  return static_cast<int64_t*>(storage().data()) + offset();
}
void* Tensor::raw_data() const {
  return static_cast<char*>(storage().data()) + offset() * static_cast<int64_t>(dtype_size(dtype()));
}

// ---- autograd fields -------------------------------------------------------------------------
bool Tensor::requires_grad() const { return impl().requires_grad || impl().grad_fn != nullptr; }

Tensor& Tensor::requires_grad_(bool on) {
  CSG_CHECK(is_leaf(), "requires_grad_: ", describe(), " is the result of an op; only leaves can be marked");
  CSG_CHECK(!on || dtype() != DType::I64, "requires_grad_: integer tensor ", describe(), " cannot require grad");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    CSG_CHECK(g.shape() == shape() && g.device() == device(), "set_grad: gradient ", g.describe(),
              " does not match ", describe());
  }
  impl().grad = g.impl_ptr();
}

void Tensor::zero_grad() { impl().grad.reset(); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const { run_backward(*this, grad, retain_graph); }

Tensor Tensor::detach() const {
  auto d = std::make_shared<TensorImpl>();
  const TensorImpl& s = impl();
  d->storage = s.storage;
  d->shape = s.shape;
  d->strides = s.strides;
  d->offset = s.offset;
  d->dtype = s.dtype;
  d->device = s.device;
  d->name = s.name;
  return Tensor(d);
}

// ---- factories -----------------------------------------------------------------------------
Tensor empty(const Shape& shape, TensorOptions opt) {
  for (int64_t d : shape) CSG_CHECK(d >= 0, "empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(opt.dtype), opt.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opt.dtype;
  impl->device = opt.device;
  return Tensor(impl);
}
Tensor full(const Shape& shape, double value, TensorOptions opt) {
  Tensor t = empty(shape, opt);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.options()); }

namespace {
template <class T>
Tensor from_host(const std::vector<T>& v, const Shape& shape, DType host_dtype, TensorOptions opt) {
  CSG_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "from_vector: ", v.size(),
            " values do not fill shape ", shape_str(shape));
  Tensor host = empty(shape, {host_dtype, Device::CPU});
  if (!v.empty()) std::memcpy(host.raw_data(), v.data(), v.size() * sizeof(T));
  if (opt.dtype != host_dtype) host = host.to(opt.dtype);
  return opt.device == Device::CPU ? host : host.to(opt.device);
}
}  // namespace
Tensor from_vector(const std::vector<float>& v, const Shape& s, TensorOptions o) { return from_host(v, s, DType::F32, o); }
Tensor from_vector(const std::vector<double>& v, const Shape& s, TensorOptions o) { return from_host(v, s, DType::F64, o); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, TensorOptions o) { return from_host(v, s, DType::I64, o); }

Tensor arange(int64_t n, TensorOptions opt) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  Tensor t = from_vector(v, {n}, {DType::F64, Device::CPU});
  return t.to(opt.dtype).to(opt.device);
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->device = base.device();
  return Tensor(impl);
}

// ---- host access -----------------------------------------------------------------------------
std::vector<double> Tensor::to_vector() const {
  Tensor h = to(Device::CPU).contiguous();
  std::vector<double> out(h.numel());
  switch (h.dtype()) {
    case DType::F32: { const float* p = h.data<float>(); for (size_t i = 0; i < out.size(); ++i) out[i] = p[i]; break; }
    case DType::F64: { const double* p = h.data<double>(); for (size_t i = 0; i < out.size(); ++i) out[i] = p[i]; break; }
    case DType::I64: { const int64_t* p = h.data<int64_t>(); for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]); break; }
  }
  return out;
}
std::vector<float> Tensor::to_float_vector() const {
  std::vector<double> d = to_vector();
  return std::vector<float>(d.begin(), d.end());
}
double Tensor::item() const {
  CSG_CHECK(numel() == 1, "item(): ", describe(), " has ", numel(), " elements, expected 1");
  return to_vector()[0];
}

}  // namespace csg
