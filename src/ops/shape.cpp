// src/ops/shape.cpp — cat (views such as reshape/permute/slice are Tensor methods, views.cpp).
#include "csg/autograd.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg {

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  CSG_CHECK(!xs.empty(), "cat: no tensors given");
  const Tensor& first = xs[0];
  check_defined("cat", first, "tensor 0");
  dim = wrap_dim("cat", dim, first.dim());
  Shape shape = first.shape();
  shape[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check_defined("cat", x, "an input");
    check_same_device("cat", first, x);
    check_same_dtype("cat", first, x);
    CSG_CHECK(x.dim() == first.dim(), "cat: tensor ", i, " ", x.describe(), " has a different rank than ",
              first.describe());
    for (int64_t d = 0; d < x.dim(); ++d)
      CSG_CHECK(d == dim || x.shape()[d] == first.shape()[d], "cat: tensor ", i, " ", x.describe(),
                " does not match ", first.describe(), " outside dim ", dim);
    shape[dim] += x.shape()[dim];
  }
  Tensor out = empty(shape, first.options());
  std::vector<int64_t> starts;
  {
    NoGradGuard ng;
    int64_t at = 0;
    for (const Tensor& x : xs) {
      starts.push_back(at);
      out.slice(dim, at, at + x.shape()[dim]).copy_(x);
      at += x.shape()[dim];
    }
  }
  std::vector<int64_t> lens;
  for (const Tensor& x : xs) lens.push_back(x.shape()[dim]);
  return record("cat", out, xs, [dim, starts, lens](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> gs;
    for (size_t i = 0; i < starts.size(); ++i) gs.push_back(g.slice(dim, starts[i], starts[i] + lens[i]).contiguous());
    return gs;
  });
}

}  // namespace csg
