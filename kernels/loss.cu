// kernels/loss.cu — fused softmax cross-entropy: one pass over the logits gives each lane's
// loss and (optionally) its gradient softmax - onehot; a row reduction gives the mean.
//
// [N,C] logits (InfoNCE: C = 1 + 65536) use one block per row with an online max/sum
// block reduction; [N,C,H,W] logits (segmentation: C = 19) use one thread per pixel.
// Targets are validated on the device: a bad one lowers an atomic "first bad index" flag. The
// flags stay on the device (the mean and the backward scale are computed there) and the host
// checks them at its next read-back (kernels::deferred_status), so a loss costs no sync.
#include "kernels/common.cuh"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/runtime.h"
#include "kernels/softmax_reduce.cuh"

namespace csg::kernels {
namespace {

struct Flags {
  unsigned long long valid;      // number of non-ignored targets
  unsigned long long first_bad;  // min flat index of a bad target; all ones when none
  long long bad_value;           // target[first_bad], filled by finish_kernel
};

// x, dx [rows, C]; target, lane_loss [rows]. dx may be null.
__global__ void cross_entropy_rows_kernel(const float* x, const int64_t* target, float* lane_loss, float* dx,
                                          int64_t rows, int64_t classes, int64_t ignore_index, Flags* flags) {
  unsigned long long valid = 0;  // counted by thread 0
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * classes;
    float* dr = dx ? dx + r * classes : nullptr;
    const int64_t t = target[r];
    if (t == ignore_index || t < 0 || t >= classes) {  // the same branch for the whole block
      if (threadIdx.x == 0) {
        lane_loss[r] = 0.f;
        if (t != ignore_index) atomicMin(&flags->first_bad, static_cast<unsigned long long>(r));
      }
      if (dr)
        for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) dr[c] = 0.f;
      continue;
    }
    MaxSumExp st;
    for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) st.add(xr[c]);
    st = block_reduce_max_sum_exp(st);
    if (threadIdx.x == 0) {
      lane_loss[r] = (st.m - xr[t]) + logf(st.s);
      ++valid;
    }
    if (dr) {
      const float inv_sum = 1.f / st.s;
      for (int64_t c = threadIdx.x; c < classes; c += blockDim.x)
        dr[c] = expf(xr[c] - st.m) * inv_sum - (c == t ? 1.f : 0.f);
    }
  }
  if (threadIdx.x == 0 && valid) atomicAdd(&flags->valid, valid);
}

// x, dx [outer, C, inner]; target, lane_loss [outer, inner]. dx may be null.
__global__ void cross_entropy_lanes_kernel(const float* x, const int64_t* target, float* lane_loss, float* dx,
                                           int64_t outer, int64_t classes, int64_t inner, int64_t ignore_index,
                                           Flags* flags) {
  unsigned long long valid = 0;
  CSG_KERNEL_LOOP(lane, outer * inner) {
    const int64_t base = (lane / inner) * classes * inner + lane % inner;
    const int64_t t = target[lane];
    if (t == ignore_index || t < 0 || t >= classes) {
      lane_loss[lane] = 0.f;
      if (t != ignore_index) atomicMin(&flags->first_bad, static_cast<unsigned long long>(lane));
      if (dx)
        for (int64_t k = 0; k < classes; ++k) dx[base + k * inner] = 0.f;
      continue;
    }
    MaxSumExp st;
    for (int64_t k = 0; k < classes; ++k) st.add(x[base + k * inner]);
    lane_loss[lane] = (st.m - x[base + t * inner]) + logf(st.s);
    ++valid;
    if (dx) {
      const float inv_sum = 1.f / st.s;
      for (int64_t k = 0; k < classes; ++k)
        dx[base + k * inner] = expf(x[base + k * inner] - st.m) * inv_sum - (k == t ? 1.f : 0.f);
    }
  }
  valid = block_reduce(valid, SumOp{}, 0ull);  // one atomic per block, not per pixel
  if (threadIdx.x == 0 && valid) atomicAdd(&flags->valid, valid);
}

// One thread: the mean (the summed lane losses over the valid count), the backward's scale
// 1/valid (0 when every lane is ignored) and the value of the first bad target.
__global__ void finish_kernel(Flags* flags, const int64_t* target, float* loss, float* inv_valid) {
  const unsigned long long valid = flags->valid;
  const float inv = valid ? static_cast<float>(1.0 / static_cast<double>(valid)) : 0.f;
  *loss *= inv;
  *inv_valid = inv;
  if (flags->first_bad != ~0ull) flags->bad_value = target[flags->first_bad];
}

}  // namespace

void cross_entropy_f32(const float* logits, const int64_t* target, float* loss, float* inv_valid, float* dlogits,
                       int64_t outer, int64_t classes, int64_t inner, int64_t ignore_index,
                       std::function<void(int64_t first_bad, int64_t value)> report_bad) {
  const int64_t lanes = outer * inner;
  if (lanes == 0) {
    CSG_CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(float), stream()));
    CSG_CUDA_CHECK(cudaMemsetAsync(inv_valid, 0, sizeof(float), stream()));
    return;
  }
  Flags* flags = static_cast<Flags*>(deferred_status(sizeof(Flags), [report_bad](const void* bytes) {
    const Flags* f = static_cast<const Flags*>(bytes);
    if (f->first_bad != ~0ull) report_bad(static_cast<int64_t>(f->first_bad), f->bad_value);
  }));
  CSG_CUDA_CHECK(cudaMemsetAsync(&flags->first_bad, 0xff, sizeof(unsigned long long), stream()));
  Workspace lane_loss(lanes * sizeof(float));
  if (inner == 1) {
    cross_entropy_rows_kernel<<<row_blocks(outer), row_block_threads(classes), 0, stream()>>>(
        logits, target, lane_loss.as<float>(), dlogits, outer, classes, ignore_index, flags);
  } else {
    cross_entropy_lanes_kernel<<<grid_for(lanes), kThreads, 0, stream()>>>(
        logits, target, lane_loss.as<float>(), dlogits, outer, classes, inner, ignore_index, flags);
  }
  CSG_KERNEL_CHECK(inner == 1 ? "cross_entropy_rows_kernel" : "cross_entropy_lanes_kernel");
  sum_rows_f32(lane_loss.as<float>(), loss, 1, lanes, 1.f);
  finish_kernel<<<1, 1, 0, stream()>>>(flags, target, loss, inv_valid);
  CSG_KERNEL_CHECK("finish_kernel");
}

}  // namespace csg::kernels
