// csg/tensor.h — an n-d array on the CPU or a CUDA device, with the autograd fields.
//
// A Tensor is a handle (shared_ptr) to a TensorImpl: storage + shape + strides (in
// elements) + offset + dtype + device. Views (reshape of a contiguous tensor, permute,
// slice, expand) share the storage. Copies between devices are explicit: t.to(Device::CUDA).
//
// Autograd fields live on the impl: requires_grad, grad (accumulated by backward) and
// grad_fn, the tape node that produced this tensor (see csg/autograd.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "csg/error.h"

namespace csg {

enum class Device : uint8_t { CPU, CUDA };
// F32 is the training type on both devices; F64 exists on the CPU for gradient checks;
// I64 holds class labels (as PyTorch does) and checkpoint integers.
enum class DType : uint8_t { F32, F64, I64 };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);
const char* device_name(Device dev);
// The device a --device flag names: "cpu"; "cuda" when a GPU is usable; "auto": CUDA when a GPU
// is usable, else the CPU, and `why` (when given) receives the reason, cuda::status(). Anything
// else, "cuda" without a usable GPU, or "auto" with a GPU this build has no code for (a rebuild
// fixes it; the CPU would be days slower) is a csg::Error that says why.
Device parse_device(const std::string& name, std::string* why = nullptr);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[32,64,56,56]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// A flat buffer on one device. The version counter is bumped by every in-place write, so
// backward can detect that a tensor it saved was overwritten (see Saved in autograd.h).
class Storage {
 public:
  Storage(size_t nbytes, Device dev);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }
  // Unique for the process's lifetime (an address can come back after a free; an id cannot).
  uint64_t id() const { return id_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
  uint64_t id_ = 0;
};

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  Device device = Device::CPU;
  bool requires_grad = false;        // set on leaves (parameters); non-leaves use grad_fn
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // producer on the tape; null for leaves
  std::string name;                  // optional, shown in errors (e.g. "layer3.4.conv2.weight")
};

struct TensorOptions {
  DType dtype = DType::F32;
  Device device = Device::CPU;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().device; }
  bool is_cuda() const { return impl().device == Device::CUDA; }
  bool is_contiguous() const;
  TensorOptions options() const { return {dtype(), device()}; }
  const std::string& name() const { return impl().name; }
  Tensor& set_name(std::string n);
  std::string describe() const;  // "name f32[2,3] cpu" for error messages

  // Typed pointer to the first element (device pointer for CUDA tensors). Checks the dtype.
  template <class T>
  T* data() const;
  void* raw_data() const;  // pointer to the first element, any dtype
  Storage& storage() const { return *impl().storage; }

  // ---- autograd -------------------------------------------------------------------------
  // True for a leaf with requires_grad set and for any result computed from one (grad mode on).
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // leaves only
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const;  // undefined until a backward reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the accumulated gradient
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  // Reverse-mode pass from this tensor. `grad` may be omitted only for a one-element tensor.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // Same storage, cut from the tape, requires_grad false.
  Tensor detach() const;

  // ---- conversion (each returns a new tensor unless nothing needs doing) -------------------
  Tensor to(Device dev) const;  // differentiable
  Tensor to(DType dt) const;    // differentiable between float types
  Tensor contiguous() const;    // differentiable
  Tensor clone() const;         // differentiable, always copies

  // ---- views (differentiable, share storage) -------------------------------------------
  Tensor reshape(const Shape& s) const;  // one dim may be -1; copies if not contiguous
  Tensor view(const Shape& s) const;     // like reshape, but refuses to copy
  Tensor permute(const Shape& perm) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // slice + drop the dim
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor expand(const Shape& s) const;  // broadcast view (stride 0 on expanded dims)

  // ---- in-place, not differentiable (refused on tensors that require grad in grad mode) --
  Tensor& copy_(const Tensor& src);  // same shape; any devices; float types convert
  Tensor& fill_(double v);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& add_(const Tensor& other, double alpha = 1.0);  // this += alpha * other, same shape
  Tensor& mul_(double s);

  // ---- host access (copies to the CPU; for tests, metrics and printing) --------------------
  std::vector<double> to_vector() const;
  std::vector<float> to_float_vector() const;
  double item() const;  // one-element tensors

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- factories ----------------------------------------------------------------------------
Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
// Copies host values into a new tensor; the dtype defaults to the vector's element type.
Tensor from_vector(const std::vector<float>& v, const Shape& shape, TensorOptions opt = {DType::F32});
Tensor from_vector(const std::vector<double>& v, const Shape& shape, TensorOptions opt = {DType::F64});
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape, TensorOptions opt = {DType::I64});
Tensor arange(int64_t n, TensorOptions opt = {});
// A tensor that shares `storage` (views built by ops).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace csg
