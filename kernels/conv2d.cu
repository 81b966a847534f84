// kernels/conv2d.cu — 2-D convolution through cuDNN: forward, backward-data, backward-filter
// and bias gradient, NCHW float.
//
// For each direction, geometry and buffer alignment (the key) the algorithms are searched once
// with cudnnFind*AlgorithmEx on the call's own buffers and cached fastest first; a call runs
// the first one whose workspace can be had and that cuDNN accepts (a refusal moves on to the
// next). Deterministic mode keeps only algorithms cuDNN reports as deterministic. Workspaces
// come from the caching allocator (kernels::Workspace); the search's own goes back to the driver. Batches whose tensors exceed cuDNN's 2^31
// element limit are processed in chunks of images.
#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/common.cuh"
#include "kernels/conv2d.h"
#include "kernels/runtime.h"

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

// Geometry, math mode, determinism, direction and the alignment of the buffers: chunked calls
// pass offset pointers, and an algorithm found on 256-byte aligned buffers may refuse others.
struct Key {
  std::array<int64_t, 15> dims;
  bool tf32;
  bool deterministic;
  int alignment;
  Direction dir;
  auto tie() const { return std::tie(dims, tf32, deterministic, alignment, dir); }
  bool operator<(const Key& o) const { return tie() < o.tie(); }
};

Key make_key(const Conv2dShape& s, int64_t n, Direction dir, int alignment) {
  return Key{{n, s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h,
              s.dilation_w},
             g_allow_tf32.load(),
             deterministic(),
             alignment,
             dir};
}

struct Choice {
  int algo = 0;
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};
using Choices = std::vector<Choice>;  // fastest first

std::mutex g_cache_mu;
std::map<Key, Choices>& cache() {
  static auto* m = new std::map<Key, Choices>();  // leaked: used until process exit
  return *m;
}

// The search workspace: the largest any algorithm asks for (capped at kMaxSearchWorkspace),
// or none if even that cannot be had (then only workspace-free algorithms are candidates).
// It goes back to the driver after the search instead of into the allocator's cache, where
// ~60 searches of a ResNet-101 step would otherwise leave gigabytes that cuDNN and cuBLAS,
// which allocate on their own, cannot use.
class SearchWorkspace {
 public:
  template <class SizeOf>
  SearchWorkspace(int algo_count, SizeOf size_of) {
    for (int a = 0; a < algo_count; ++a) {
      size_t sz = 0;
      if (size_of(a, &sz) == CUDNN_STATUS_SUCCESS && sz <= kMaxSearchWorkspace) size_ = std::max(size_, sz);
    }
    if (!size_) return;
    try {
      ptr_ = device_alloc(size_);
    } catch (const OutOfMemory&) {
      size_ = 0;
    }
  }
  ~SearchWorkspace() { device_release(ptr_); }
  SearchWorkspace(const SearchWorkspace&) = delete;
  SearchWorkspace& operator=(const SearchWorkspace&) = delete;
  void* get() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// Every algorithm that ran in the search, fits the budget and (in deterministic mode) is
// deterministic, in cuDNN's order (fastest first).
template <class Perf>
Choices rank(const Perf* perf, int returned, size_t budget, const char* dir, const Conv2dShape& s) {
  Choices out;
  for (int i = 0; i < returned; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= budget &&
        (!deterministic() || perf[i].determinism == CUDNN_DETERMINISTIC))
      out.push_back(Choice{static_cast<int>(perf[i].algo), perf[i].memory, perf[i].mathType});
  CSG_CHECK(!out.empty(), "conv2d (cuDNN): no ", dir, " algorithm works for x [", s.N, ",", s.C, ",", s.H, ",", s.W,
            "] w [", s.O, ",", s.C, ",", s.KH, ",", s.KW, "] (", returned, " tried, workspace budget ", budget,
            " bytes", deterministic() ? ", deterministic ones only: try without deterministic mode" : "", ")");
  return out;
}

// Looks `key` up; on a miss runs `search` (which returns the ranked Choices) and remembers it.
template <class Search>
Choices cached_choices(const Key& key, Search search) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  Choices c = search();
  cache()[key] = c;
  return c;
}

// Runs `call(choice, workspace, bytes)` with the first choice that works: a choice whose
// workspace cannot be had, or that cuDNN refuses (conv2d_try_next_algorithm), gives way to the
// next; any other failure is reported at once.
template <class Call>
void run_first_working(const Choices& choices, ConvDesc& conv, const char* dir, const Conv2dShape& s, Call call) {
  std::string refused;
  for (const Choice& c : choices) {
    conv.set_math(c.math);
    std::optional<Workspace> ws;
    try {
      ws.emplace(c.workspace);
    } catch (const OutOfMemory&) {
      refused += detail::cat(" algo ", c.algo, ": no ", c.workspace, "-byte workspace;");
      continue;
    }
    const cudnnStatus_t st = call(c, ws->get(), ws->size());
    if (st == CUDNN_STATUS_SUCCESS) return;
    if (!conv2d_try_next_algorithm(st)) cuda_fail(dir, cudnnGetErrorString(st), __FILE__, __LINE__);
    refused += detail::cat(" algo ", c.algo, ": ", cudnnGetErrorString(st), ";");
  }
  CSG_FAIL("conv2d (cuDNN): every ", dir, " algorithm found for x [", s.N, ",", s.C, ",", s.H, ",", s.W, "] w [",
           s.O, ",", s.C, ",", s.KH, ",", s.KW, "] failed:", refused,
           " free GPU memory (a smaller --batch-size) or turn deterministic mode off");
}

Choices forward_choices(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* x, const float* w, float* y) {
  return cached_choices(make_key(s, n, Direction::Forward, pointer_alignment({x, w, y})), [&] {
    SearchWorkspace ws(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionForwardWorkspaceSize(cudnn(), d.x, d.w, d.conv, d.y,
                                                     static_cast<cudnnConvolutionFwdAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(cudnn(), d.x, x, d.w, w, d.conv, d.y, y,
                                                           (int)perf.size(), &returned, perf.data(), ws.get(),
                                                           ws.size()));
    return rank(perf.data(), returned, ws.size(), "forward", s);
  });
}

Choices backward_data_choices(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* w, const float* dy,
                              float* dx) {
  return cached_choices(make_key(s, n, Direction::BackwardData, pointer_alignment({w, dy, dx})), [&] {
    SearchWorkspace ws(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), d.w, d.y, d.conv, d.x,
                                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn(), d.w, w, d.y, dy, d.conv, d.x, dx,
                                                                (int)perf.size(), &returned, perf.data(), ws.get(),
                                                                ws.size()));
    return rank(perf.data(), returned, ws.size(), "backward-data", s);
  });
}

// The search writes its trial results into `dw_scratch`, never into the caller's dw, which
// may hold partial sums of earlier chunks.
Choices backward_filter_choices(const Conv2dShape& s, int64_t n, ConvDescs& d, const float* x, const float* dy,
                                const float* dw) {
  return cached_choices(make_key(s, n, Direction::BackwardFilter, pointer_alignment({x, dy, dw})), [&] {
    Workspace dw_scratch(static_cast<size_t>(s.O * s.C * s.KH * s.KW) * sizeof(float));
    SearchWorkspace ws(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, [&](int a, size_t* sz) {
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), d.x, d.y, d.conv, d.w,
                                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(a), sz);
    });
    int max_count = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn(), &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(max_count, 1));
    int returned = 0;
    CSG_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn(), d.x, x, d.y, dy, d.conv, d.w,
                                                                  dw_scratch.get(), (int)perf.size(), &returned,
                                                                  perf.data(), ws.get(), ws.size()));
    return rank(perf.data(), returned, ws.size(), "backward-filter", s);
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

int pointer_alignment(std::initializer_list<const void*> ptrs) {
  uintptr_t bits = 0;
  for (const void* p : ptrs) bits |= reinterpret_cast<uintptr_t>(p);
  const uintptr_t lowest = bits & (~bits + 1);  // the lowest set bit: the largest common power of two
  return static_cast<int>(bits == 0 || lowest > 256 ? 256 : lowest);
}

bool conv2d_try_next_algorithm(int status) {
  // 2xxx: bad parameter (a misaligned pointer among them), 3xxx: not supported; both are a
  // refusal of this algorithm for these buffers. Allocation inside cuDNN likewise.
  return (status >= CUDNN_STATUS_BAD_PARAM && status < CUDNN_STATUS_INTERNAL_ERROR) ||
         status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

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
    run_first_working(forward_choices(s, n, d, xc, w, yc), d.conv, "forward", s,
                      [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionForward(cudnn(), &one, d.x, xc, d.w, w, d.conv,
                                                       static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws, ws_size,
                                                       &zero, d.y, yc);
                      });
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
    run_first_working(backward_data_choices(s, n, d, w, dyc, dxc), d.conv, "backward-data", s,
                      [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionBackwardData(cudnn(), &one, d.w, w, d.y, dyc, d.conv,
                                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws,
                                                            ws_size, &zero, d.x, dxc);
                      });
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
    // The first chunk writes dw, later ones add to it.
    run_first_working(backward_filter_choices(s, n, d, xc, dyc, dw), d.conv, "backward-filter", s,
                      [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionBackwardFilter(cudnn(), &one, d.x, xc, d.y, dyc, d.conv,
                                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo),
                                                              ws, ws_size, n0 == 0 ? &zero : &one, d.w, dw);
                      });
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
