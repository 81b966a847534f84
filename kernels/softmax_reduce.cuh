// kernels/softmax_reduce.cuh — the device pieces the softmax family shares (softmax,
// log_softmax, cross_entropy, l2_normalize): block-wide reductions and the online
// (running max, rescaled sum of exponentials) accumulator.
//
// Layout convention of these kernels: a contiguous tensor is [outer, dim, inner]; lane
// (o, j) is the `dim` elements o*dim*inner + k*inner + j. When inner == 1 a lane is a
// contiguous row and one block handles it (block reductions, coalesced loads); otherwise
// one thread handles one lane and neighbouring threads read neighbouring j (coalesced).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace csg::kernels {

// Block size for a row kernel: a multiple of 32 covering short rows, at most 256.
inline int row_block_threads(int64_t row_len) {
  int64_t t = (row_len + 31) / 32 * 32;
  return static_cast<int>(t < 32 ? 32 : (t > 256 ? 256 : t));
}
// One block per row, rows visited with a grid-stride loop past the grid limit.
inline unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535);
}

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The total of v over the block, returned to every thread. Every thread of the block must
// call it (it synchronises); blockDim.x must be a multiple of 32. Safe to call repeatedly:
// the leading barrier keeps a new call from overwriting partials a slow warp still reads.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T warp_partials[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();
  if (lane == 0) warp_partials[warp] = v;
  __syncthreads();
  v = lane < warps ? warp_partials[lane] : identity;
  return warp_reduce(v, op);
}

// Online softmax statistics: m = max seen so far, s = sum of exp(x - m). One expf per
// element; -inf entries (masked logits) contribute 0 and never make a NaN, NaN propagates.
struct MaxSumExp {
  float m = -INFINITY;
  float s = 0.f;
  __device__ __forceinline__ void add(float x) {
    if (x > m) {
      s = s * expf(m - x) + 1.f;  // m == -inf gives expf(-inf) == 0
      m = x;
    } else if (x != -INFINITY) {
      s += expf(x - m);
    }
  }
  __device__ __forceinline__ static MaxSumExp merge(MaxSumExp a, MaxSumExp b) {
    MaxSumExp r;
    r.m = fmaxf(a.m, b.m);
    if (r.m == -INFINITY) return r;
    r.s = (a.s == 0.f ? 0.f : a.s * expf(a.m - r.m)) + (b.s == 0.f ? 0.f : b.s * expf(b.m - r.m));
    return r;
  }
};

// Block-wide merge of MaxSumExp; every thread gets the row's (max, sum).
__device__ inline MaxSumExp block_reduce_max_sum_exp(MaxSumExp v) {
  __shared__ float part_m[32], part_s[32];
  for (int o = 16; o > 0; o >>= 1) {
    MaxSumExp other;
    other.m = __shfl_xor_sync(0xffffffffu, v.m, o);
    other.s = __shfl_xor_sync(0xffffffffu, v.s, o);
    v = MaxSumExp::merge(v, other);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) {
    part_m[warp] = v.m;
    part_s[warp] = v.s;
  }
  __syncthreads();
  MaxSumExp w;
  if (lane < warps) {
    w.m = part_m[lane];
    w.s = part_s[lane];
  }
  for (int o = 16; o > 0; o >>= 1) {
    MaxSumExp other;
    other.m = __shfl_xor_sync(0xffffffffu, w.m, o);
    other.s = __shfl_xor_sync(0xffffffffu, w.s, o);
    w = MaxSumExp::merge(w, other);
  }
  return w;
}

}  // namespace csg::kernels
