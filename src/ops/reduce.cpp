// src/ops/reduce.cpp — sum / mean over dims, sum_to (the backward of broadcasting), argmax.
//
// Every reduction is brought to one shape first: the kept dims are permuted to the front
// and the reduced ones to the back, so the work is "reduce each row of a [rows, cols] matrix".
#include <algorithm>
#include <vector>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "kernels/reduce.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {

struct RowPlan {
  Tensor rows_by_cols;  // [rows, cols] contiguous
  Shape out_shape;      // without the reduced dims, or with 1s when keepdim
  Shape keep_shape;     // always with 1s at the reduced dims (for backward broadcasting)
  int64_t cols = 1;
};

RowPlan plan_rows(const char* op, const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  const int64_t nd = x.dim();
  if (dims.empty())
    for (int64_t d = 0; d < nd; ++d) dims.push_back(d);
  std::vector<bool> reduced(nd, false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(op, d, nd);
    CSG_CHECK(!reduced[w], op, ": dim ", d, " listed twice");
    reduced[w] = true;
  }
  RowPlan p;
  Shape perm;
  int64_t rows = 1;
  for (int64_t d = 0; d < nd; ++d)
    if (!reduced[d]) {
      perm.push_back(d);
      rows *= x.shape()[d];
      p.out_shape.push_back(x.shape()[d]);
      p.keep_shape.push_back(x.shape()[d]);
    } else {
      if (keepdim) p.out_shape.push_back(1);
      p.keep_shape.push_back(1);
    }
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) {
      perm.push_back(d);
      p.cols *= x.shape()[d];
    }
  Tensor xd = x.detach();
  p.rows_by_cols = (nd ? xd.permute(perm) : xd).contiguous().reshape({rows, p.cols});
  return p;
}

// out[r] = scale * sum_c m[r, c], m = [rows, cols] contiguous.
Tensor sum_rows(const char* op, const Tensor& m, double scale) {
  const int64_t rows = m.shape()[0], cols = m.shape()[1];
  Tensor out = empty({rows}, m.options());
  if (m.is_cuda()) {
    CSG_CUDA_CALL(op, kernels::sum_rows_f32(m.data<float>(), out.data<float>(), rows, cols, static_cast<float>(scale)));
    return out;
  }
  dispatch_float(m.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = m.data<T>();
    T* po = out.data<T>();
    if (rows >= 8) {
#pragma omp parallel for
      for (int64_t r = 0; r < rows; ++r) {
        double acc = 0;  // double accumulation keeps float sums of long rows accurate
        for (int64_t c = 0; c < cols; ++c) acc += px[r * cols + c];
        po[r] = static_cast<T>(acc * scale);
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        double acc = 0;
        if (cols <= 65536) {
          for (int64_t c = 0; c < cols; ++c) acc += px[r * cols + c];
        } else {  // fixed blocks added in order: the same sum whatever the threads (no OpenMP reduction)
          constexpr int64_t kBlock = 16384;
          const int64_t blocks = (cols + kBlock - 1) / kBlock;
          std::vector<double> part(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for
          for (int64_t b = 0; b < blocks; ++b) {
            double a = 0;
            for (int64_t c = b * kBlock; c < std::min(cols, (b + 1) * kBlock); ++c) a += px[r * cols + c];
            part[b] = a;
          }
          for (double a : part) acc += a;
        }
        po[r] = static_cast<T>(acc * scale);
      }
    }
  });
  return out;
}

Tensor reduce_sum(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool average) {
  check_float(op, x, "input");
  RowPlan p = plan_rows(op, x, dims, keepdim);
  const double scale = average ? 1.0 / std::max<int64_t>(p.cols, 1) : 1.0;
  Tensor out = sum_rows(op, p.rows_by_cols, scale).reshape(p.out_shape);
  Shape in_shape = x.shape(), keep_shape = p.keep_shape;
  return record(op, out, {x}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor gk = g.reshape(keep_shape).expand(in_shape).contiguous();
    return {scale == 1.0 ? gk : mul(gk, scale)};
  });
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum("sum", x, dims, keepdim, false);
}
Tensor sum(const Tensor& x) { return reduce_sum("sum", x, {}, false, false); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum("mean", x, dims, keepdim, true);
}
Tensor mean(const Tensor& x) { return reduce_sum("mean", x, {}, false, true); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  CSG_CHECK(lead >= 0, "sum_to: cannot sum ", x.describe(), " to more dims ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.shape()[d] != 1) {
      dims.push_back(d);
    } else {
      CSG_CHECK(shape[d - lead] == x.shape()[d], "sum_to: ", x.describe(), " does not broadcast from ",
                shape_str(shape));
    }
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

Tensor argmax(const Tensor& x, int64_t dim) {
  check_float("argmax", x, "input");
  dim = wrap_dim("argmax", dim, x.dim());
  RowPlan p = plan_rows("argmax", x, {dim}, false);
  const int64_t rows = p.rows_by_cols.shape()[0], cols = p.cols;
  Tensor out = empty({rows}, {DType::I64, x.device()});
  if (x.is_cuda()) {
    CSG_CUDA_CALL("argmax", kernels::argmax_rows_f32(p.rows_by_cols.data<float>(), out.data<int64_t>(), rows, cols));
  } else {
    dispatch_float(x.dtype(), "argmax", [&](auto tag) {
      using T = decltype(tag);
      const T* px = p.rows_by_cols.data<T>();
      int64_t* po = out.data<int64_t>();
#pragma omp parallel for if (rows > 64)
      for (int64_t r = 0; r < rows; ++r) {
        int64_t best = 0;
        for (int64_t c = 1; c < cols; ++c)
          if (argmax_better(px[r * cols + c], c, px[r * cols + best], best)) best = c;
        po[r] = best;
      }
    });
  }
  return out.reshape(p.out_shape);
}

}  // namespace csg
