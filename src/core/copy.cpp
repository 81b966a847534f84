// src/core/copy.cpp — copies between layouts, dtypes and devices, and the in-place writes
// (copy_, fill_, add_, mul_). Everything that moves bytes goes through copy_.
#include <omp.h>

#include <cstring>

#include "csg/autograd.h"
#include "csg/cuda.h"
#include "csg/ops.h"
#include "csg/tensor.h"
#include "kernels/strided.h"
#include "src/core/dispatch.h"

#ifdef CSG_WITH_CUDA
#include "kernels/copy.h"
#include "kernels/runtime.h"
#endif

namespace csg {

StridedLayout layout_of(const Tensor& t) {
  CSG_CHECK(t.dim() <= kMaxStridedDims, "tensor ", t.describe(), " has more than ", kMaxStridedDims, " dims");
  StridedLayout l;
  l.ndim = static_cast<int>(t.dim());
  for (int d = 0; d < l.ndim; ++d) {
    l.sizes[d] = t.shape()[d];
    l.strides[d] = t.strides()[d];
  }
  return l;
}

namespace {

// Both layouts (same sizes) with size-1 dimensions dropped and neighbours merged where both step
// through them as one (stride[d] == stride[d+1] * size[d+1]): a slice of packed rows becomes a
// few long rows. Copies of permuted views (dense NCE's 8x8 patches) keep short rows, and there
// the per-row offset arithmetic was most of the copy (`perf`: 5% of the DeepLab step).
void merge_dims(StridedLayout& a, StridedLayout& b) {
  int out = 0;
  for (int d = 0; d < a.ndim; ++d) {
    if (a.sizes[d] == 1) continue;
    if (out > 0 && a.strides[out - 1] == a.strides[d] * a.sizes[d] &&
        b.strides[out - 1] == b.strides[d] * b.sizes[d]) {
      a.sizes[out - 1] *= a.sizes[d];
      b.sizes[out - 1] = a.sizes[out - 1];
      a.strides[out - 1] = a.strides[d];
      b.strides[out - 1] = b.strides[d];
    } else {
      a.sizes[out] = b.sizes[out] = a.sizes[d];
      a.strides[out] = a.strides[d];
      b.strides[out] = b.strides[d];
      ++out;
    }
  }
  if (out == 0) {  // a single element
    a.sizes[0] = b.sizes[0] = 1;
    a.strides[0] = b.strides[0] = 1;
    out = 1;
  }
  a.ndim = b.ndim = out;
}

// The start offsets of rows r0, r0+1, ... in two layouts of the same sizes, stepped like an
// odometer over the outer dimensions: no division per row.
class RowWalk {
 public:
  RowWalk(const StridedLayout& a, const StridedLayout& b, int64_t r0) : a_(a), b_(b) {
    for (int d = a.ndim - 2; d >= 0; --d) {
      idx_[d] = r0 % a.sizes[d];
      r0 /= a.sizes[d];
      off_a_ += idx_[d] * a.strides[d];
      off_b_ += idx_[d] * b.strides[d];
    }
  }
  int64_t a() const { return off_a_; }
  int64_t b() const { return off_b_; }
  void next() {
    for (int d = a_.ndim - 2; d >= 0; --d) {
      off_a_ += a_.strides[d];
      off_b_ += b_.strides[d];
      if (++idx_[d] < a_.sizes[d]) return;
      off_a_ -= a_.strides[d] * a_.sizes[d];
      off_b_ -= b_.strides[d] * b_.sizes[d];
      idx_[d] = 0;
    }
  }

 private:
  const StridedLayout& a_;
  const StridedLayout& b_;
  int64_t idx_[kMaxStridedDims] = {};
  int64_t off_a_ = 0, off_b_ = 0;
};

template <class D, class S>
void host_copy_typed(D* dst, StridedLayout dl, bool dst_contig, const S* src, StridedLayout sl, bool src_contig,
                     int64_t n) {
  if (dst_contig && src_contig) {
    if constexpr (std::is_same_v<D, S>) {
      std::memcpy(dst, src, n * sizeof(D));
    } else {
#pragma omp parallel for if (n > 65536)
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<D>(src[i]);
    }
    return;
  }
  // Row by row over the innermost (merged) dimension; each thread takes a run of rows.
  merge_dims(dl, sl);
  const int64_t len = dl.row_length(), rows = n / len, ds = dl.row_stride(), ss = sl.row_stride();
#pragma omp parallel if (n > 16384)
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
    RowWalk at(dl, sl, r0);
    for (int64_t r = r0; r < r1; ++r, at.next()) {
      D* d = dst + at.a();
      const S* s = src + at.b();
      if (ds == 1 && ss == 1) {
        for (int64_t j = 0; j < len; ++j) d[j] = static_cast<D>(s[j]);
      } else {
        for (int64_t j = 0; j < len; ++j) d[j * ds] = static_cast<D>(s[j * ss]);
      }
    }
  }
}

template <class D>
void host_copy_from(D* dst, const StridedLayout& dl, bool dc, const Tensor& src) {
  StridedLayout sl = layout_of(src);
  bool sc = src.is_contiguous();
  switch (src.dtype()) {
    case DType::F32: host_copy_typed(dst, dl, dc, src.data<float>(), sl, sc, src.numel()); break;
    case DType::F64: host_copy_typed(dst, dl, dc, src.data<double>(), sl, sc, src.numel()); break;
    case DType::I64: host_copy_typed(dst, dl, dc, src.data<int64_t>(), sl, sc, src.numel()); break;
  }
}

// dst and src both on the CPU, same shape, any dtypes and layouts.
void host_copy(const Tensor& dst, const Tensor& src) {
  StridedLayout dl = layout_of(dst);
  bool dc = dst.is_contiguous();
  switch (dst.dtype()) {
    case DType::F32: host_copy_from(dst.data<float>(), dl, dc, src); break;
    case DType::F64: host_copy_from(dst.data<double>(), dl, dc, src); break;
    case DType::I64: host_copy_from(dst.data<int64_t>(), dl, dc, src); break;
  }
}

void check_inplace(const char* op, const Tensor& t) {
  CSG_CHECK(!(grad_mode_enabled() && t.requires_grad()), op, ": in-place write to ", t.describe(),
            ", which requires grad; do it under csg::NoGradGuard (as optimizers do)");
}

}  // namespace

Tensor& Tensor::copy_(const Tensor& src_in) {
  check_inplace("copy_", *this);
  check_defined("copy_", src_in, "source");
  Tensor src = src_in.shape() == shape() ? src_in : src_in.expand(shape());
  const int64_t n = numel();
  if (n > 0) {
    if (device() == Device::CPU && src.device() == Device::CPU) {
      host_copy(*this, src);
    } else {
#ifdef CSG_WITH_CUDA
      if (device() == Device::CUDA && src.device() == Device::CUDA && dtype() == src.dtype()) {
        kernels::strided_copy(raw_data(), layout_of(*this), src.raw_data(), layout_of(src), n,
                              static_cast<int>(dtype_size(dtype())));
      } else if (device() == Device::CUDA) {
        // Host (or other-dtype) source: convert on the host into a dense buffer, upload it,
        // then scatter into this tensor's layout on the device.
        Tensor host = empty(shape(), {dtype(), Device::CPU});
        host_copy(host, src.device() == Device::CPU ? src : src.to(Device::CPU));
        if (is_contiguous()) {
          kernels::copy_host_to_device(raw_data(), host.raw_data(), n * dtype_size(dtype()));
        } else {
          Tensor dense = empty(shape(), {dtype(), Device::CUDA});
          kernels::copy_host_to_device(dense.raw_data(), host.raw_data(), n * dtype_size(dtype()));
          kernels::strided_copy(raw_data(), layout_of(*this), dense.raw_data(), layout_of(dense), n,
                                static_cast<int>(dtype_size(dtype())));
        }
      } else {  // CUDA -> CPU: densify on the device, download, convert/scatter on the host
        Tensor dense = src.is_contiguous() ? src : empty(src.shape(), {src.dtype(), Device::CUDA});
        if (!src.is_contiguous())
          kernels::strided_copy(dense.raw_data(), layout_of(dense), src.raw_data(), layout_of(src), n,
                                static_cast<int>(dtype_size(src.dtype())));
        Tensor host = empty(shape(), {src.dtype(), Device::CPU});
        kernels::copy_device_to_host(host.raw_data(), dense.raw_data(), n * dtype_size(src.dtype()));
        host_copy(*this, host);
      }
#else
      CSG_FAIL("copy_: this csg was built without CUDA; cannot copy ", src.describe(), " to ", describe());
#endif
    }
  }
  storage().bump_version();
  return *this;
}

Tensor& Tensor::fill_(double v) {
  check_inplace("fill_", *this);
  if (numel() == 0) return *this;
  if (device() == Device::CPU) {
    StridedLayout l = layout_of(*this);
    const int64_t n = numel();
    const bool contiguous = is_contiguous();
    auto fill = [&](auto* p) {
      using T = std::remove_pointer_t<decltype(p)>;
      const T tv = static_cast<T>(v);
      if (contiguous) {  // the common case (zeros(), gradients): no offset arithmetic per element
#pragma omp parallel for if (n > 65536)
        for (int64_t i = 0; i < n; ++i) p[i] = tv;
        return;
      }
      // Row by row: one offset() per row of the innermost dimension.
      const int64_t len = l.row_length(), rows = len ? n / len : 0, stride = l.row_stride();
#pragma omp parallel for if (n > 65536)
      for (int64_t r = 0; r < rows; ++r) {
        T* row = p + l.offset(r * len);
        for (int64_t j = 0; j < len; ++j) row[j * stride] = tv;
      }
    };
    switch (dtype()) {
      case DType::F32: fill(data<float>()); break;
      case DType::F64: fill(data<double>()); break;
      case DType::I64: fill(data<int64_t>()); break;
    }
  } else if (is_contiguous()) {
    if (dtype() == DType::F32) {
      CSG_CUDA_CALL("fill_", kernels::fill_f32(data<float>(), numel(), static_cast<float>(v)));
    } else if (dtype() == DType::I64) {
      CSG_CUDA_CALL("fill_", kernels::fill_i64(data<int64_t>(), numel(), static_cast<int64_t>(v)));
    } else {
      check_cuda_float("fill_", *this);
    }
  } else {
    Tensor dense = full(shape(), v, options());
    copy_(dense);
  }
  storage().bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace("add_", *this);
  check_same_device("add_", *this, other);
  check_same_dtype("add_", *this, other);
  check_same_shape("add_", *this, other);
  Tensor o = other.contiguous();
  if (!is_contiguous()) {  // rare: fall back to an out-of-place sum written back
    NoGradGuard ng;
    Tensor sum = add(*this, mul(o, alpha));
    return copy_(sum);
  }
  const int64_t n = numel();
  if (device() == Device::CPU) {
    dispatch_float(dtype(), "add_", [&](auto tag) {
      using T = decltype(tag);
      T* y = data<T>();
      const T* x = o.data<T>();
      const T a = static_cast<T>(alpha);
#pragma omp parallel for if (n > 65536)
      for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
    });
  } else {
    check_cuda_float("add_", *this);
    CSG_CUDA_CALL("add_", kernels::axpy_f32(data<float>(), o.data<float>(), n, static_cast<float>(alpha)));
  }
  storage().bump_version();
  return *this;
}

Tensor& Tensor::mul_(double s) {
  check_inplace("mul_", *this);
  if (!is_contiguous()) {
    NoGradGuard ng;
    return copy_(mul(*this, s));
  }
  const int64_t n = numel();
  if (device() == Device::CPU) {
    dispatch_float(dtype(), "mul_", [&](auto tag) {
      using T = decltype(tag);
      T* y = data<T>();
      const T a = static_cast<T>(s);
#pragma omp parallel for if (n > 65536)
      for (int64_t i = 0; i < n; ++i) y[i] *= a;
    });
  } else {
    check_cuda_float("mul_", *this);
    CSG_CUDA_CALL("mul_", kernels::scale_f32(data<float>(), n, static_cast<float>(s)));
  }
  storage().bump_version();
  return *this;
}

// ---- differentiable conversions ---------------------------------------------------------------
Tensor Tensor::to(Device dev) const {
  if (device() == dev) return *this;
  if (dev == Device::CUDA)
    CSG_CHECK(cuda::available(), "to(cuda): ", describe(), " cannot be moved: ", cuda::status());
  Tensor out = empty(shape(), {dtype(), dev});
  {
    NoGradGuard ng;
    out.copy_(*this);
  }
  const Device src_dev = device();
  return record("to_device", out, {*this}, [src_dev](const Tensor& g) -> std::vector<Tensor> { return {g.to(src_dev)}; });
}

Tensor Tensor::to(DType dt) const {
  if (dtype() == dt) return *this;
  Tensor out = empty(shape(), {dt, device()});
  {
    NoGradGuard ng;
    if (device() == Device::CUDA) {  // CUDA kernels are single-dtype: convert through the host
      Tensor host = empty(shape(), {dt, Device::CPU});
      host.copy_(to(Device::CPU));
      out.copy_(host);
    } else {
      out.copy_(*this);
    }
  }
  if (dt == DType::I64 || dtype() == DType::I64) return out;  // integer results carry no gradient
  const DType src_dt = dtype();
  return record("to_dtype", out, {*this}, [src_dt](const Tensor& g) -> std::vector<Tensor> { return {g.to(src_dt)}; });
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), options());
  {
    NoGradGuard ng;
    out.copy_(*this);
  }
  return record("clone", out, {*this}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

}  // namespace csg
