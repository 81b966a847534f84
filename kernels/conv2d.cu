// kernels/conv2d.cu — 2-D convolution through cuDNN: forward, backward-data, backward-filter
// and bias gradient, NCHW float.
//
// For each direction, geometry and buffer alignment (the key) the algorithms are searched once
// with cudnnFind*AlgorithmEx on the call's own buffers and cached fastest first; a call runs
// the first one whose workspace can be had and that cuDNN accepts (a refusal moves on to the
// next). A deterministic call (ConvMath::deterministic) keeps only algorithms cuDNN reports as
// deterministic. Workspaces
// come from the caching allocator (kernels::Workspace); the search's own goes back to the driver. Batches whose tensors exceed cuDNN's 2^31
// element limit are processed in chunks of images.
//
// BF16 mode (ConvMath::bf16): the operands are rounded into BF16 scratch copies, cuDNN runs its
// BFLOAT16 configuration (x, w, y in BF16, compute type float) and the BF16 result is widened
// into the caller's f32 buffer. The result thus passes through BF16, as PyTorch autocast's
// convolution output does (the CPU path differs here: oneDNN writes f32 directly).
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

#include "kernels/bf16.h"
#include "kernels/common.cuh"
#include "kernels/conv2d.h"
#include "kernels/runtime.h"

namespace csg::kernels {

namespace {

// The largest workspace an algorithm search may hand out; faster algorithms that need more
// (some FFT variants) are skipped rather than holding gigabytes in the allocator's cache.
constexpr size_t kMaxSearchWorkspace = size_t(512) << 20;

cudnnDataType_t data_type(bool bf16) { return bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }
size_t element_size(bool bf16) { return bf16 ? sizeof(uint16_t) : sizeof(float); }

// The math mode the algorithm search starts from. BF16 tensors need tensor-op math to reach
// the tensor cores; their products are exact in f32, so nothing is lost. In f32, FMA math
// keeps TF32 out when it is off.
cudnnMathType_t search_math(const ConvMath& m) {
  if (m.bf16) return CUDNN_TENSOR_OP_MATH;
  return m.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

int to_int(const char* what, int64_t v) {
  CSG_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): ", what, " = ", v, " does not fit cuDNN's int interface");
  return static_cast<int>(v);
}

// ---- RAII descriptors -------------------------------------------------------------------
// `type`: the elements' type, CUDNN_DATA_FLOAT or (BF16 mode) CUDNN_DATA_BFLOAT16.
class TensorDesc {
 public:
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w, cudnnDataType_t type = CUDNN_DATA_FLOAT) {
    CSG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_));
    CSG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, type, to_int("N", n),
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
  FilterDesc(int64_t o, int64_t c, int64_t kh, int64_t kw, cudnnDataType_t type) {
    CSG_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_));
    CSG_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_, type, CUDNN_TENSOR_NCHW, to_int("O", o),
                                               to_int("C", c), to_int("KH", kh), to_int("KW", kw)));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  operator cudnnFilterDescriptor_t() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

// The compute type is float in both modes: cuDNN's FLOAT_CONFIG and BFLOAT16_CONFIG (f32
// accumulation) alike.
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

// Everything cuDNN needs to describe one convolution over a chunk of `n` images, its tensors
// (x, w, y and their gradients) in f32 or, in BF16 mode, BF16.
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  ConvDescs(const Conv2dShape& s, int64_t n, const ConvMath& m)
      : x(n, s.C, s.H, s.W, data_type(m.bf16)),
        y(n, s.O, s.OH, s.OW, data_type(m.bf16)),
        w(s.O, s.C, s.KH, s.KW, data_type(m.bf16)),
        conv(s, search_math(m)) {
    int on = 0, oc = 0, oh = 0, ow = 0;
    CSG_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &oc, &oh, &ow));
    CSG_CHECK(on == n && oc == s.O && oh == s.OH && ow == s.OW, "conv2d (cuDNN): output shape [", on, ",", oc, ",",
              oh, ",", ow, "] differs from the expected [", n, ",", s.O, ",", s.OH, ",", s.OW, "]");
  }
};

// ---- the algorithm cache ------------------------------------------------------------------
enum class Direction { Forward, BackwardData, BackwardFilter };

// Geometry, math mode, data type, determinism, direction and the alignment of the buffers:
// chunked calls pass offset pointers, and an algorithm found on 256-byte aligned buffers may
// refuse others.
struct Key {
  std::array<int64_t, 15> dims;
  bool tf32;
  bool bf16;
  bool deterministic;
  int alignment;
  Direction dir;
  auto tie() const { return std::tie(dims, tf32, bf16, deterministic, alignment, dir); }
  bool operator<(const Key& o) const { return tie() < o.tie(); }
};

Key make_key(const Conv2dShape& s, int64_t n, const ConvMath& m, Direction dir, int alignment) {
  return Key{{n, s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h,
              s.dilation_w},
             !m.bf16 && m.tf32,  // TF32 applies to f32 tensors only
             m.bf16,
             m.deterministic,
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

// Every algorithm that ran in the search, fits the budget and (when `deterministic`) is
// deterministic, in cuDNN's order (fastest first).
template <class Perf>
Choices rank(const Perf* perf, int returned, size_t budget, bool deterministic, const char* dir,
             const Conv2dShape& s) {
  Choices out;
  for (int i = 0; i < returned; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= budget &&
        (!deterministic || perf[i].determinism == CUDNN_DETERMINISTIC))
      out.push_back(Choice{static_cast<int>(perf[i].algo), perf[i].memory, perf[i].mathType});
  CSG_CHECK(!out.empty(), "conv2d (cuDNN): no ", dir, " algorithm works for x [", s.N, ",", s.C, ",", s.H, ",", s.W,
            "] w [", s.O, ",", s.C, ",", s.KH, ",", s.KW, "] (", returned, " tried, workspace budget ", budget,
            " bytes", deterministic ? ", deterministic ones only: try without deterministic mode" : "", ")");
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

Choices forward_choices(const Conv2dShape& s, int64_t n, const ConvMath& m, ConvDescs& d, const void* x, const void* w,
                        void* y) {
  return cached_choices(make_key(s, n, m, Direction::Forward, pointer_alignment({x, w, y})), [&] {
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
    return rank(perf.data(), returned, ws.size(), m.deterministic, "forward", s);
  });
}

Choices backward_data_choices(const Conv2dShape& s, int64_t n, const ConvMath& m, ConvDescs& d, const void* w,
                              const void* dy, void* dx) {
  return cached_choices(make_key(s, n, m, Direction::BackwardData, pointer_alignment({w, dy, dx})), [&] {
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
    return rank(perf.data(), returned, ws.size(), m.deterministic, "backward-data", s);
  });
}

// The search writes its trial results into `dw_scratch`, never into the caller's dw, which
// may hold partial sums of earlier chunks.
Choices backward_filter_choices(const Conv2dShape& s, int64_t n, const ConvMath& m, ConvDescs& d, const void* x,
                                const void* dy, const void* dw) {
  return cached_choices(make_key(s, n, m, Direction::BackwardFilter, pointer_alignment({x, dy, dw})), [&] {
    Workspace dw_scratch(static_cast<size_t>(s.O * s.C * s.KH * s.KW) * element_size(m.bf16));
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
    return rank(perf.data(), returned, ws.size(), m.deterministic, "backward-filter", s);
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

// ---- the operands as cuDNN reads and writes them ----------------------------------------------
// An input of `n` floats: the caller's buffer itself, or in BF16 mode its rounded copy in scratch
// memory.
class Input {
 public:
  Input(const float* src, int64_t n, bool bf16) : src_(src) {
    if (!bf16) return;
    copy_.emplace(static_cast<size_t>(n) * sizeof(uint16_t));
    f32_to_bf16(src, copy_->as<uint16_t>(), n);
  }
  const void* get() const { return copy_ ? copy_->get() : src_; }

 private:
  const float* src_;
  std::optional<Workspace> copy_;
};

// An output of `n` floats: cuDNN writes the caller's buffer, or in BF16 mode a BF16 scratch
// buffer that widen() then converts into it (adding to what is there when `accumulate`).
class Output {
 public:
  Output(float* dst, int64_t n, bool bf16) : dst_(dst), n_(n) {
    if (bf16) scratch_.emplace(static_cast<size_t>(n) * sizeof(uint16_t));
  }
  void* get() const { return scratch_ ? scratch_->get() : dst_; }
  void widen(bool accumulate = false) const {
    if (scratch_) bf16_to_f32(scratch_->as<uint16_t>(), dst_, n_, accumulate);
  }

 private:
  float* dst_;
  int64_t n_;
  std::optional<Workspace> scratch_;
};

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

void conv2d_forward_f32(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                        const ConvMath& m) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  const bool bf16 = m.bf16;
  std::optional<TensorDesc> bias_desc;
  if (b) bias_desc.emplace(1, s.O, 1, 1);
  const Input wi(w, s.O * s.C * s.KH * s.KW, bf16);
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const Input xc(x + n0 * x_image, n * x_image, bf16);
    float* yc = y + n0 * y_image;
    const Output yo(yc, n * y_image, bf16);
    ConvDescs d(s, n, m);
    run_first_working(forward_choices(s, n, m, d, xc.get(), wi.get(), yo.get()), d.conv, "forward", s,
                      [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionForward(cudnn(), &one, d.x, xc.get(), d.w, wi.get(), d.conv,
                                                       static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws, ws_size,
                                                       &zero, d.y, yo.get());
                      });
    yo.widen();
    if (b) {  // in f32, after widening: the bias is not rounded
      const TensorDesc y_f32(n, s.O, s.OH, s.OW);
      CSG_CUDNN_CHECK(cudnnAddTensor(cudnn(), &one, *bias_desc, b, &one, y_f32, yc));
    }
  });
}

void conv2d_backward_data_f32(const Conv2dShape& s, const float* w, const float* dy, float* dx, const ConvMath& m) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW;
  const float one = 1.f, zero = 0.f;
  const bool bf16 = m.bf16;
  const Input wi(w, s.O * s.C * s.KH * s.KW, bf16);
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const Input dyc(dy + n0 * y_image, n * y_image, bf16);
    const Output dxo(dx + n0 * x_image, n * x_image, bf16);
    ConvDescs d(s, n, m);
    run_first_working(backward_data_choices(s, n, m, d, wi.get(), dyc.get(), dxo.get()), d.conv, "backward-data",
                      s, [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionBackwardData(cudnn(), &one, d.w, wi.get(), d.y, dyc.get(), d.conv,
                                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws,
                                                            ws_size, &zero, d.x, dxo.get());
                      });
    dxo.widen();
  });
}

void conv2d_backward_filter_f32(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                const ConvMath& m) {
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * s.OH * s.OW, w_size = s.O * s.C * s.KH * s.KW;
  const float one = 1.f, zero = 0.f;
  if (s.N == 0) {  // no images: the gradient is zero
    CSG_CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<size_t>(w_size) * sizeof(float), stream()));
    return;
  }
  const bool bf16 = m.bf16;
  // In f32 the first chunk writes dw and later ones add to it (beta = 1). In BF16 mode each
  // chunk's dw comes out in BF16, as a whole batch's would, and widening adds it to the f32 dw:
  // the running total stays f32 (beta = 1 would add in BF16).
  const Output dwo(dw, w_size, bf16);
  for_each_chunk(s, [&](int64_t n0, int64_t n) {
    const Input xc(x + n0 * x_image, n * x_image, bf16);
    const Input dyc(dy + n0 * y_image, n * y_image, bf16);
    ConvDescs d(s, n, m);
    const float* beta = (n0 == 0 || bf16) ? &zero : &one;
    run_first_working(backward_filter_choices(s, n, m, d, xc.get(), dyc.get(), dwo.get()), d.conv,
                      "backward-filter", s, [&](const Choice& c, void* ws, size_t ws_size) {
                        return cudnnConvolutionBackwardFilter(cudnn(), &one, d.x, xc.get(), d.y, dyc.get(), d.conv,
                                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo),
                                                              ws, ws_size, beta, d.w, dwo.get());
                      });
    dwo.widen(/*accumulate=*/n0 > 0);
  });
}

// The bias gradient is a plain sum of dy: it stays f32 in BF16 mode.
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
