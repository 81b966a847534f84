// kernels/batch_norm.cu — batch normalisation on CUDA, float32: cuDNN (spatial mode) for the
// train-mode forward / backward and the eval forward; our own kernels for the eval / frozen
// backward, which cuDNN does not offer (its backward always treats the statistics as batch
// statistics that depend on x).
//
// cuDNN conventions relied on (cudnn_ops.h): exponentialAverageFactor is the weight of the
// new batch statistic, i.e. PyTorch's momentum; the running variance it accumulates is the
// unbiased (Bessel-corrected) batch variance, as PyTorch's (PyTorch's CUDA batch norm hands
// its running stats and momentum straight to this call); resultSaveInvVariance is
// 1/sqrt(biased_var + eps). CUDNN_BN_MIN_EPSILON is 0 in cuDNN 9, so any eps >= 0 is accepted.
#include <algorithm>
#include <climits>
#include <cub/block/block_reduce.cuh>

#include "kernels/batch_norm.h"
#include "kernels/common.cuh"
#include "kernels/reduce.h"

namespace csg::kernels {
namespace {

constexpr int kChannelThreads = 256;

class TensorDescriptor {
 public:
  TensorDescriptor() { CSG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_)); }
  ~TensorDescriptor() { cudnnDestroyTensorDescriptor(d_); }
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

// x as NCHW [n, c, s, 1] and the derived [1, c, 1, 1] descriptor for the per-channel vectors.
struct BatchNormDescriptors {
  TensorDescriptor x, channel;
  BatchNormDescriptors(int64_t n, int64_t c, int64_t s) {
    if (n > INT_MAX || c > INT_MAX || s > INT_MAX || n * c * s > INT_MAX)
      cuda_fail("batch_norm", "tensor too large for cuDNN's 32-bit sizes", __FILE__, __LINE__);
    CSG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(n),
                                               static_cast<int>(c), static_cast<int>(s), 1));
    CSG_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(channel.get(), x.get(), CUDNN_BATCHNORM_SPATIAL));
  }
};

__global__ void fill_kernel(float* p, float v, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { p[i] = v; }
}

// cuDNN always wants a scale and a shift: ones / zeros stand in when affine is off.
struct AffineParams {
  const float* weight;
  const float* bias;
  Workspace storage;
  AffineParams(const float* w, const float* b, int64_t c)
      : weight(w), bias(b), storage((w ? 0 : c) * sizeof(float) + (b ? 0 : c) * sizeof(float)) {
    float* p = storage.as<float>();
    if (!w) {
      fill_kernel<<<grid_for(c), kThreads, 0, stream()>>>(p, 1.f, c);
      CSG_KERNEL_CHECK("fill_kernel");
      weight = p;
      p += c;
    }
    if (!b) {
      CSG_CUDA_CHECK(cudaMemsetAsync(p, 0, c * sizeof(float), stream()));
      bias = p;
    }
  }
};

// dx[i] = dy[i] * weight[ch] / sqrt(var[ch] + eps), ch = channel of element i of [n, c, s].
__global__ void eval_dx_kernel(const float* dy, const float* weight, const float* var, float* dx, int64_t total,
                               int64_t c, int64_t s, float eps) {
  CSG_KERNEL_LOOP(i, total) {
    const int64_t ch = (i / s) % c;
    const float scale = (weight ? weight[ch] : 1.f) / sqrtf(var[ch] + eps);
    dx[i] = dy[i] * scale;
  }
}

// Block (k, ch) sums chunk k of channel ch's n*s elements: partial_dy[ch, k] = sum(dy) and
// partial_dy_xhat[ch, k] = sum(dy * xhat), xhat = (x - mean)*rstd. Many blocks per channel
// keep the GPU busy when channels are few and images large; a row sum then adds the chunks
// (in a fixed order: deterministic).
__global__ void eval_param_partials_kernel(const float* x, const float* dy, const float* mean, const float* var,
                                           float* partial_dy, float* partial_dy_xhat, int64_t n, int64_t c, int64_t s,
                                           int64_t chunk, float eps) {
  using BlockSum = cub::BlockReduce<float, kChannelThreads>;
  __shared__ typename BlockSum::TempStorage tmp;
  const int64_t m = n * s, chunks = gridDim.x, k = blockIdx.x;
  const int64_t begin = k * chunk, end = begin + chunk < m ? begin + chunk : m;
  for (int64_t ch = blockIdx.y; ch < c; ch += gridDim.y) {
    const float mu = mean[ch], rstd = 1.f / sqrtf(var[ch] + eps);
    float a = 0.f, b = 0.f;
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
      const int64_t img = j / s, off = (img * c + ch) * s + (j - img * s);
      const float g = dy[off];
      a += g;
      if (partial_dy_xhat) b += g * (x[off] - mu) * rstd;
    }
    a = BlockSum(tmp).Sum(a);
    __syncthreads();  // tmp is reused
    if (partial_dy_xhat) b = BlockSum(tmp).Sum(b);
    if (threadIdx.x == 0) {
      partial_dy[ch * chunks + k] = a;
      if (partial_dy_xhat) partial_dy_xhat[ch * chunks + k] = b;
    }
    __syncthreads();
  }
}

unsigned channel_grid(int64_t c) { return static_cast<unsigned>(c < 65535 ? (c > 0 ? c : 1) : 65535); }

constexpr int64_t kEvalChunk = 8192;  // elements of one channel per block

}  // namespace

void batch_norm_train_forward_f32(const float* x, float* y, const float* weight, const float* bias,
                                  float* running_mean, float* running_var, float* save_mean, float* save_rstd,
                                  int64_t n, int64_t c, int64_t s, double momentum, double eps) {
  if (n * c * s == 0) return;
  BatchNormDescriptors desc(n, c, s);
  AffineParams affine(weight, bias, c);
  const float one = 1.f, zero = 0.f;
  CSG_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, desc.x.get(), x, desc.x.get(), y, desc.channel.get(),
      affine.weight, affine.bias, momentum, running_mean, running_var, eps, save_mean, save_rstd));
}

void batch_norm_train_backward_f32(const float* x, const float* dy, const float* weight, const float* save_mean,
                                   const float* save_rstd, float* dx, float* dweight, float* dbias, int64_t n,
                                   int64_t c, int64_t s, double eps) {
  if (n * c * s == 0) return;
  BatchNormDescriptors desc(n, c, s);
  AffineParams affine(weight, nullptr, c);
  // cuDNN writes both parameter gradients: scratch for the ones nobody asked for.
  Workspace scratch((dweight ? 0 : c) * sizeof(float) + (dbias ? 0 : c) * sizeof(float));
  float* spare = scratch.as<float>();
  if (!dweight) {
    dweight = spare;
    spare += c;
  }
  if (!dbias) dbias = spare;
  const float one = 1.f, zero = 0.f;
  CSG_CUDNN_CHECK(cudnnBatchNormalizationBackward(cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero,
                                                  desc.x.get(), x, desc.x.get(), dy, desc.x.get(), dx,
                                                  desc.channel.get(), affine.weight, dweight, dbias, eps, save_mean,
                                                  save_rstd));
}

void batch_norm_eval_forward_f32(const float* x, float* y, const float* weight, const float* bias, const float* mean,
                                 const float* var, int64_t n, int64_t c, int64_t s, double eps) {
  if (n * c * s == 0) return;
  BatchNormDescriptors desc(n, c, s);
  AffineParams affine(weight, bias, c);
  const float one = 1.f, zero = 0.f;
  CSG_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                                                          desc.x.get(), x, desc.x.get(), y, desc.channel.get(),
                                                          affine.weight, affine.bias, mean, var, eps));
}

void batch_norm_eval_backward_f32(const float* x, const float* dy, const float* weight, const float* mean,
                                  const float* var, float* dx, float* dweight, float* dbias, int64_t n, int64_t c,
                                  int64_t s, double eps) {
  const int64_t total = n * c * s;
  if (total == 0) return;
  if (dx) {
    eval_dx_kernel<<<grid_for(total), kThreads, 0, stream()>>>(dy, weight, var, dx, total, c, s,
                                                               static_cast<float>(eps));
    CSG_KERNEL_CHECK("eval_dx_kernel");
  }
  if (dweight || dbias) {
    const int64_t m = n * s, chunks = std::min<int64_t>((m + kEvalChunk - 1) / kEvalChunk, 65535);
    const int64_t chunk = (m + chunks - 1) / chunks;
    Workspace partials(2 * c * chunks * sizeof(float));
    float* partial_dy = partials.as<float>();
    float* partial_dy_xhat = dweight ? partial_dy + c * chunks : nullptr;
    eval_param_partials_kernel<<<dim3(static_cast<unsigned>(chunks), channel_grid(c)), kChannelThreads, 0,
                                 stream()>>>(x, dy, mean, var, partial_dy, partial_dy_xhat, n, c, s, chunk,
                                             static_cast<float>(eps));
    CSG_KERNEL_CHECK("eval_param_partials_kernel");
    if (dbias) sum_rows_f32(partial_dy, dbias, c, chunks, 1.f);
    if (dweight) sum_rows_f32(partial_dy_xhat, dweight, c, chunks, 1.f);
  }
}

}  // namespace csg::kernels
