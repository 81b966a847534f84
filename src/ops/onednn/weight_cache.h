// src/ops/onednn/weight_cache.h — convolution weights kept in the layout (and precision) a oneDNN
// primitive reads them in, while a csg::ConvWeightsReuseScope is open: the query encoder's
// weights are reordered once per training step instead of once per forward pass over them.
#pragma once
#include <cstdint>

#ifdef CSG_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace csg::onednn {

// Which contents a weight buffer holds: its storage (Storage::id), the storage's version and the
// weights' offset in it. storage == 0: unknown, never cached. `frozen`: the weight takes no
// gradient (CSG's frozen ImageNet encoder), so its copy is trusted from one scope to the next
// while the version holds; a trainable weight's copy is remade in every scope.
struct WeightSource {
  uint64_t storage = 0, version = 0;
  int64_t offset = 0;
  bool frozen = false;
};

#ifdef CSG_WITH_DNNL

// The plain f32 weights `w` (`plain` describes them) as `want`: the copy kept from an earlier
// call when a scope is open and `src` is unchanged, else a fresh reorder into the Weights staging
// buffer (no scope or no source) or into a kept buffer (then kept for the next call).
dnnl::memory reordered_weights(const dnnl::memory::desc& want, const dnnl::memory::desc& plain, const float* w,
                               const WeightSource& src);

// Called by the scope (src/ops/conv2d.cpp): the outermost scope's start and end; the end frees
// the copies this scope did not use.
void weight_cache_open();
void weight_cache_close();
// Reorders made into kept copies on this thread so far (tests: a reused copy makes none).
uint64_t weight_cache_reorders();
#endif  // CSG_WITH_DNNL

}  // namespace csg::onednn
