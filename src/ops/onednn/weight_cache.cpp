// src/ops/onednn/weight_cache.cpp — see weight_cache.h. Per thread, as the primitive caches are.
#include "src/ops/onednn/weight_cache.h"

#ifdef CSG_WITH_DNNL
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "csg/error.h"
#include "src/ops/onednn/context.h"

namespace csg::onednn {

namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// One reordered copy of one weight tensor in one layout.
struct Copy {
  dnnl::memory::desc desc;
  uint64_t version = 0, sample = 0;
  bool used = false;  // in the current scope
  std::unique_ptr<void, FreeDeleter> data;
};

struct Cache {
  bool open = false;
  uint64_t reorders = 0, unversioned_writes = 0;
  // (storage, offset) -> its copies, one per layout (forward f32 and bf16 differ).
  std::map<std::pair<uint64_t, int64_t>, std::vector<Copy>> copies;
};
Cache& cache() {
  thread_local Cache c;
  return c;
}

void reorder_into(dnnl::memory plain, dnnl::memory out) { dnnl::reorder(plain, out).execute(stream(), plain, out); }

}  // namespace

dnnl::memory reordered_weights(const dnnl::memory::desc& want, const dnnl::memory::desc& plain, const float* w,
                               const WeightSource& src) {
  dnnl::memory user(plain, engine(), const_cast<float*>(w));
  if (want == plain) return user;
  Cache& c = cache();
  if (!c.open || src.storage == 0) {
    dnnl::memory out(want, engine(), buffer(Slot::Weights, want.get_size()));
    reorder_into(user, out);
    return out;
  }
  std::vector<Copy>& copies = c.copies[{src.storage, src.offset}];
  Copy* copy = nullptr;
  for (Copy& k : copies)
    if (k.desc == want) copy = &k;
  if (!copy) {
    void* p = std::aligned_alloc(64, (want.get_size() + 63) / 64 * 64);
    CSG_CHECK(p, "conv2d (oneDNN): out of host memory keeping ", want.get_size(), " bytes of reordered weights");
    copies.push_back(Copy{want, src.version, src.sample, false, std::unique_ptr<void, FreeDeleter>(p)});
    copy = &copies.back();
    reorder_into(user, dnnl::memory(want, engine(), copy->data.get()));
    ++c.reorders;
  } else if (copy->version != src.version || copy->sample != src.sample || (!copy->used && !src.frozen)) {
    // Written since (version or sample), or a trainable weight's copy from an earlier scope: a new
    // scope remakes those, as cheaply as the step's first reorder would have.
    if (copy->version == src.version && copy->sample != src.sample) ++c.unversioned_writes;
    reorder_into(user, dnnl::memory(want, engine(), copy->data.get()));
    copy->version = src.version;
    copy->sample = src.sample;
    ++c.reorders;
  }
  copy->used = true;
  return dnnl::memory(want, engine(), copy->data.get());
}

void weight_cache_open() { cache().open = true; }

void weight_cache_close() {
  Cache& c = cache();
  c.open = false;
  for (auto it = c.copies.begin(); it != c.copies.end();) {
    std::vector<Copy>& v = it->second;
    std::vector<Copy> kept;
    for (Copy& k : v)
      if (k.used) {
        k.used = false;
        kept.push_back(std::move(k));
      }
    if (kept.empty()) {
      it = c.copies.erase(it);
    } else {
      v = std::move(kept);
      ++it;
    }
  }
}

uint64_t weight_cache_reorders() { return cache().reorders; }
uint64_t weight_cache_unversioned_writes() { return cache().unversioned_writes; }

}  // namespace csg::onednn
#endif  // CSG_WITH_DNNL
