// src/core/views.cpp — differentiable views: new shape/strides over the same storage.
// Each backward maps the view's gradient back to the base's shape.
#include <algorithm>
#include <numeric>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "csg/tensor.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {
// Resolves a single -1 and checks the element count.
Shape infer_shape(const char* op, const Shape& req, int64_t numel, const Shape& from) {
  Shape s = req;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      CSG_CHECK(infer < 0, op, ": more than one -1 in ", shape_str(req));
      infer = static_cast<int64_t>(i);
    } else {
      CSG_CHECK(s[i] >= 0, op, ": negative size in ", shape_str(req));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    CSG_CHECK(known > 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from), " into ", shape_str(req));
    s[infer] = numel / known;
  }
  CSG_CHECK(shape_numel(s) == numel, op, ": cannot reshape ", shape_str(from), " (", numel, " elements) into ",
            shape_str(req));
  return s;
}
}  // namespace

Tensor Tensor::view(const Shape& req) const {
  Shape s = infer_shape("view", req, numel(), shape());
  CSG_CHECK(is_contiguous(), "view: ", describe(), " is not contiguous; use reshape (which copies) or contiguous()");
  Tensor out = make_view(*this, s, contiguous_strides(s), offset());
  Shape in_shape = shape();
  return record("view", out, {*this}, [in_shape](const Tensor& g) -> std::vector<Tensor> { return {g.reshape(in_shape)}; });
}

Tensor Tensor::reshape(const Shape& req) const {
  if (is_contiguous()) return view(req);
  return contiguous().view(req);
}

Tensor Tensor::permute(const Shape& perm) const {
  const int64_t n = dim();
  CSG_CHECK(static_cast<int64_t>(perm.size()) == n, "permute: ", shape_str(perm), " does not match ", describe());
  Shape seen(n, 0), s(n), st(n), inverse(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = wrap_dim("permute", perm[i], n);
    CSG_CHECK(!seen[p], "permute: dim ", p, " repeated in ", shape_str(perm));
    seen[p] = 1;
    s[i] = shape()[p];
    st[i] = strides()[p];
    inverse[p] = i;
  }
  Tensor out = make_view(*this, s, st, offset());
  return record("permute", out, {*this}, [inverse](const Tensor& g) -> std::vector<Tensor> { return {g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  Shape perm(dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[wrap_dim("transpose", a, dim())], perm[wrap_dim("transpose", b, dim())]);
  return permute(perm);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim("slice", d, dim());
  const int64_t len = shape()[d];
  CSG_CHECK(step > 0, "slice: step must be positive, got ", step);
  if (start < 0) start += len;
  if (end < 0) end += len;
  start = std::clamp<int64_t>(start, 0, len);
  end = std::clamp<int64_t>(end, start, len);
  Shape s = shape(), st = strides();
  s[d] = (end - start + step - 1) / step;
  st[d] = strides()[d] * step;
  Tensor out = make_view(*this, s, st, offset() + start * strides()[d]);
  Shape in_shape = shape();
  TensorOptions opt = options();
  return record("slice", out, {*this}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor gin = zeros(in_shape, opt);
    gin.slice(d, start, end, step).copy_(g);
    return {gin};
  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim("select", d, dim());
  const int64_t len = shape()[d];
  if (index < 0) index += len;
  CSG_CHECK(index >= 0 && index < len, "select: index ", index, " out of range for dim ", d, " of ", describe());
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim("unsqueeze", d, dim() + 1);
  Shape s = shape();
  s.insert(s.begin() + d, 1);
  return reshape(s);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim("squeeze", d, dim());
  CSG_CHECK(shape()[d] == 1, "squeeze: dim ", d, " of ", describe(), " is not 1");
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = make_view(*this, s, st, offset());
  Shape in_shape = shape();
  return record("squeeze", out, {*this}, [in_shape](const Tensor& g) -> std::vector<Tensor> { return {g.reshape(in_shape)}; });
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim("flatten", start_dim, dim());
  end_dim = wrap_dim("flatten", end_dim, dim());
  CSG_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " > end_dim ", end_dim);
  Shape s(shape().begin(), shape().begin() + start_dim);
  int64_t m = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) m *= shape()[d];
  s.push_back(m);
  s.insert(s.end(), shape().begin() + end_dim + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::expand(const Shape& target) const {
  const int64_t n = static_cast<int64_t>(target.size());
  CSG_CHECK(n >= dim(), "expand: cannot expand ", describe(), " to fewer dims ", shape_str(target));
  Shape st(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = i - (n - dim());
    if (src < 0) continue;  // new leading dim: stride 0
    int64_t have = shape()[src];
    if (have == target[i]) {
      st[i] = strides()[src];
    } else {
      CSG_CHECK(have == 1, "expand: cannot expand ", describe(), " to ", shape_str(target), " (dim ", i, ")");
    }
  }
  if (target == shape()) return *this;
  Tensor out = make_view(*this, target, st, offset());
  Shape in_shape = shape();
  return record("expand", out, {*this}, [in_shape](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, in_shape)}; });
}

}  // namespace csg
