// src/ops/onednn/weight_cache.h — convolution weights kept in the layout (and precision) a oneDNN
// primitive reads them in, while a csg::ConvWeightsReuseScope is open: the query encoder's
// weights are reordered once per training step instead of once per forward pass over them.
#pragma once
#include <cstdint>
#include <cstring>

#ifdef CSG_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace csg::onednn {

// Which contents a weight buffer holds: its storage (Storage::id), the storage's version, the
// weights' offset in it and a sample of the values (weight_sample). storage == 0: unknown, never
// cached. `frozen`: the weight takes no gradient (CSG's frozen ImageNet encoder), so its copy is
// trusted from one scope to the next while version and sample hold; a trainable weight's copy is
// remade in every scope.
struct WeightSource {
  uint64_t storage = 0, version = 0;
  int64_t offset = 0;
  bool frozen = false;
  uint64_t sample = 0;
};

// The bits of 32 of the n weights, spread evenly over them (the first and last among them), mixed
// into one number: a kept copy is used only while its weights still give the sample it was made
// from. Every write through the engine bumps the storage's version; a write through a raw
// pointer (data<float>()) bumps nothing, and the sample is what catches it: any update of the
// whole tensor (loading weights, an EMA or optimiser step, a fill) changes sampled values. It
// costs 32 loads a call, whatever the size of the weights.
inline uint64_t weight_sample(const float* w, int64_t n) {
  constexpr int64_t kPoints = 32;
  uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(n);
  for (int64_t i = 0; n > 0 && i < kPoints; ++i) {
    uint32_t bits;
    std::memcpy(&bits, w + i * (n - 1) / (kPoints - 1), sizeof bits);
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

#ifdef CSG_WITH_DNNL

// The plain f32 weights `w` (`plain` describes them) as `want`: the copy kept from an earlier
// call when a scope is open and `src` (version and sample) is unchanged, else a fresh reorder into the Weights staging
// buffer (no scope or no source) or into a kept buffer (then kept for the next call).
dnnl::memory reordered_weights(const dnnl::memory::desc& want, const dnnl::memory::desc& plain, const float* w,
                               const WeightSource& src);

// Called by the scope (src/ops/conv2d.cpp): the outermost scope's start and end; the end frees
// the copies this scope did not use.
void weight_cache_open();
void weight_cache_close();
// Reorders made into kept copies on this thread so far (tests: a reused copy makes none).
uint64_t weight_cache_reorders();
// Kept copies found stale by their sample alone on this thread so far: weights written through a
// raw pointer, which bumps no version (tests).
uint64_t weight_cache_unversioned_writes();
#endif  // CSG_WITH_DNNL

}  // namespace csg::onednn
