// kernels/conv2d.cu — 2-D convolution through cuDNN: forward, backward-data, backward-filter
// and bias gradient, NCHW float.
//
// For each direction and geometry (the shape key) the algorithm is searched once with
// cudnnFind*AlgorithmEx on the call's own buffers, then cached: later calls with the same
// shapes go straight to the fastest algorithm that fits its workspace. Workspaces come from
// the caching allocator (kernels::Workspace). Batches whose tensors exceed cuDNN's 2^31
// element limit are processed in chunks of images.
#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "kernels/common.cuh"
#include "kernels/conv2d.h"

namespace csg::kernels {

namespace {

std::atomic<bool> g_allow_tf32{true};

// The largest workspace an algorithm search may hand out; faster algorithms that need more
// (some FFT variants) are skipped rather than holding gigabytes in the allocator's cache.
constexpr size_t kMaxSearchWorkspace = size_t(512) << 20;

int to_int(const char* what, int64_t v) {
  CSG_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): ", what, " = ", v, " does not fit cuDNN's int interface");
  return static_cast<int>(v);
}

// ---- RAII descriptors -------------------------------------------------------------------
class TensorDesc {
 public:
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w) {
    CSG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_));
    CSG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int("N", n),
                                               to_int("C", c), to_int("H", h), to_int("W", w)));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  operator cudnnTensorDescriptor_t() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc(int64_t o, int64_t c, int64_t kh, int64_t kw) {
    CSG_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_));
    CSG_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int("O", o),
                                               to_int("C", c), to_int("KH", kh), to_int("KW", kw)));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  operator cudnnFilterDescriptor_t() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc(const Conv2dShape& s, cudnnMathType_t math) {
    CSG_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_));
    CSG_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        d_, to_int("pad_h", s.pad_h), to_int("pad_w", s.pad_w), to_int("stride_h", s.stride_h),
        to_int("stride_w", s.stride_w), to_int("dilation_h", s.dilation_h), to_int("dilation_w", s.dilation_w),
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    set_math(math);
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d_); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  void set_math(cudnnMathType_t math) { CSG_CUDNN_CHECK(cudnnSetConvolutionMathType(d_, math)); }
  operator cudnnConvolutionDescriptor_t() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

// Everything cuDNN needs to describe one convolution over a chunk of `n` images.
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  ConvDescs(const Conv2dShape& s, int64_t n, cudnnMathType_t search_math)
      : x(n, s.C, s.H, s.W), y(n, s.O, s.OH, s.OW), w(s.O, s.C, s.KH, s.KW), conv(s, search_math) {
    int on = 0, oc = 0, oh = 0, ow = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &oc, &oh, &ow));
    CSG_CHECK(on == n && oc == s.O && oh == s.OH && ow == s.OW, "conv2d (cuDNN): output shape [", on, ",", oc, ",",
              oh, ",", ow, "] differs from the expected [", n, ",", s.O, ",", s.OH, ",", s.OW, "]");
  }
};

cudnnMathType_t search_math() { return g_allow_tf32.load() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

// ---- the algorithm cache ------------------------------------------------------------------
enum class Direction { Forward, BackwardData, BackwardFilter };

struct Key {
  std::array<int64_t, 15> dims;
  bool tf32;
  Direction dir;
  bool operator<(const Key& o) const {
    if (dims != o.dims) return dims < o.dims;
    if (tf32 != o.tf32) return tf32 < o.tf32;
    return dir < o.dir;
  }
};

Key make_key(const Conv2dShape& s, int64_t n, Direction dir) {
  return Key{{n, s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h,
              s.dilation_w},
             g_allow_tf32.load(),
             dir};
}

struct Choice {
  int algo = 0;
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

std::mutex g_cache_mu;
std::map<Key, Choice>& cache() {
  static auto* m = new std::map<Key, Choice>();  // leaked: used until process exit
  return *m;
}

// Search workspace: the largest any algorithm asks for (capped), or none if even that
// cannot be had (then only workspace-free algorithms are candidates).
template <class SizeOf>
void make_search_workspace(std::optional<Workspace>& ws, int algo_count, SizeOf size_of) {
  size_t budget = 0;
  for (int a = 0; a < algo_count; ++a) {
    size_t sz = 0;
    if (size_of(a, &sz) == CUDNN_STATUS_SUCCESS && sz <= kMaxSearchWorkspace) budget = std::max(budget, sz);
  }
  try {
    ws.emplace(budget);
  } catch (const OutOfMemory&) {
    ws.reset();
    ws.emplace(0);
  }
}

// perf[] is sorted fastest first by cuDNN; take the first algorithm that ran and fits.
template <class Perf>
Choice pick(const Perf* perf, int returned, size_t budget, const char* dir, const Conv2dShape& s) {
  for (int i = 0; i < returned; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= budget)
      return Choice{static_cast<int>(perf[i].algo), perf[i].memory, perf[i].mathType};
  CSG_FAIL("conv2d (cuDNN): no ", dir, " algorithm works for x [", s.N, ",", s.C, ",", s.H, ",", s.W, "] w [", s.O,
           ",", s.C, ",", s.KH, ",", s.KW, "] (", returned, " tried, workspace budget ", budget, " bytes)");
}

// Looks `key` up; on a miss runs `search` (which returns a Choice) and remembers it.
template <class Search>
Choice cached_choice(const Key& key, Search search) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  Choice c = search();
  cache()[key] = c;
  return c;
}

Choice forward_choice(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* x, const float* w, float* y) {
  return cached_choice(make_key(s, n, Direction::Forward), [&] {
    std::optional<Workspace> ws;
    make_search_workspace(ws, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionForwardWorkspaceSize(cudnn(), d.x, d.w, d.conv, d.y,
                                                     static_cast<cudnnConvolutionFwdAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(cudnn(), d.x, x, d.w, w, d.conv, d.y, y,
                                                           (int)perf.size(), &returned, perf.data(), ws->get(),
                                                           ws->size()));
    return pick(perf.data(), returned, ws->size(), "forward", s);
  });
}

Choice backward_data_choice(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* w, const float* dy,
                            float* dx) {
  return cached_choice(make_key(s, n, Direction::BackwardData), [&] {
    std::optional<Workspace> ws;
    make_search_workspace(ws, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), d.w, d.y, d.conv, d.x,
                                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn(), d.w, w, d.y, dy, d.conv, d.x, dx,
                                                                (int)perf.size(), &returned, perf.data(),
                                                                ws->get(), ws->size()));
    return pick(perf.data(), returned, ws->size(), "backward-data", s);
  });
}

// The search writes its trial results into `dw_scratch`, never into the caller's dw, which
// may hold partial sums of earlier chunks.
Choice backward_filter_choice(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* x, const float* dy) {
  return cached_choice(make_key(s, n, Direction::BackwardFilter), [&] {
    Workspace dw_scratch(static_cast<size_t>(s.O * s.C * s.KH * s.KW) * sizeof(float));
    std::optional<Workspace> ws;
    make_search_workspace(ws, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), d.x, d.y, d.conv, d.w,
                                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn(), d.x, x, d.y, dy, d.conv, d.w,
                                                                  dw_scratch.get(), (int)perf.size(), &returned,
                                                                  perf.data(), ws->get(), ws->size()));
    return pick(perf.data(), returned, ws->size(), "backward-filter", s);
  });
}

// Images per cuDNN call: cuDNN's legacy API indexes tensors with int.
int64_t images_per_chunk(const Conv2dShape& s) {
  const int64_t per_image = std::max<int64_t>({s.C * s.H * s.W, s.O * s.OH * s.OW, 1});
  const int64_t n = INT_MAX / per_image;
  CSG_CHECK(n >= 1, "conv2d (cuDNN): one image of x [", s.N, ",", s.C, ",", s.H, ",", s.W, "] -> y [", s.N, ",", s.O,
            ",", s.OH, ",", s.OW, "] has more than 2^31 elements");
  return std::min(n, std::max<int64_t>(s.N, 1));
}

// Calls f(first_image, images) for each chunk of the batch.
template <class F>
void for_each_chunk(const Conv2dShape& s, F f) {
  const int64_t step = images_per_chunk(s);
  for (int64_t n0 = 0; n0 < s.N; n0 += step) f(n0, std::min(step, s.N - n0));
}

}  // namespace

void conv2d_set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool conv2d_allow_tf32() { return g_allow_tf32.load(); }

void conv2d_forward_f32(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  std::optional<TensorDesc> bias_desc;
  if (b) bias_desc.emplace(1, s.O, 1, 1);
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const float* xc = x + n0 * x_image;
    float* yc = y + n0 * y_image;
    ConvDescs d(s, n, search_math());
    Choice c = forward_choice(s, n, d, xc, w, yc);
    d.conv.set_math(c.math);
    Workspace ws(c.workspace);
    CSG_CUDNN_CHECK(cudnnConvolutionForward(cudnn(), &one, d.x, xc, d.w, w, d.conv,
                                            static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.get(), ws.size(),
                                            &zero, d.y, yc));
    if (b) CSG_CUDNN_CHECK(cudnnAddTensor(cudnn(), &one, *bias_desc, b, &one, d.y, yc));
  });
}

void conv2d_backward_data_f32(const Conv2dShape& s, const float* w, const float* dy, float* dx) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const float* dyc = dy + n0 * y_image;
    float* dxc = dx + n0 * x_image;
    ConvDescs d(s, n, search_math());
    Choice c = backward_data_choice(s, n, d, w, dyc, dxc);
    d.conv.set_math(c.math);
    Workspace ws(c.workspace);
    CSG_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn(), &one, d.w, w, d.y, dyc, d.conv,
                                                 static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.get(),
                                                 ws.size(), &zero, d.x, dxc));
  });
}

void conv2d_backward_filter_f32(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  if (s.N == 0) {  // no images: the gradient is zero
    CSG_CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<size_t>(s.O * s.C * s.KH * s.KW) * sizeof(float), stream()));
    return;
  }
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const float* xc = x + n0 * x_image;
    const float* dyc = dy + n0 * y_image;
    ConvDescs d(s, n, search_math());
    Choice c = backward_filter_choice(s, n, d, xc, dyc);
    d.conv.set_math(c.math);
    Workspace ws(c.workspace);
    // The first chunk writes dw, later ones add to it.
    CSG_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn(), &one, d.x, xc, d.y, dyc, d.conv,
                                                   static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.get(),
                                                   ws.size(), n0 == 0 ? &zero : &one, d.w, dw));
  });
}

void conv2d_backward_bias_f32(const Conv2dShape& s, const float* dy, float* db) {
  const int64_t y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  if (s.N == 0) {
    CSG_CUDA_CHECK(cudaMemsetAsync(db, 0, static_cast<size_t>(s.O) * sizeof(float), stream()));
    return;
  }
  TensorDesc bias_desc(1, s.O, 1, 1);
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    TensorDesc dy_desc(n, s.O, s.OH, s.OW);
    CSG_CUDNN_CHECK(cudnnConvolutionBackwardBias(cudnn(), &one, dy_desc, dy + n0 * y_image, n0 == 0 ? &zero : &one,
                                                 bias_desc, db));
  });
}

}  // namespace csg::kernels
