// src/core/host_block_cache.cpp — see host_block_cache.h.
#include "src/core/host_block_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "csg/error.h"

namespace csg {

namespace {

// Large requests are rounded up to whole pages, whether the cache is on or not, so that a block's
// size class is the same when it is freed as when it was made.
size_t rounded_size(size_t bytes) {
  bytes = std::max<size_t>(bytes, 1);
  const size_t unit = bytes >= kMinCachedBytes ? 4096 : 64;
  return (bytes + unit - 1) / unit * unit;
}

class BlockCache {
 public:
  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    if (capacity_ == 0) return nullptr;
    auto it = by_size_.find(size);
    if (it == by_size_.end() || it->second.empty()) {
      ++misses_;
      return nullptr;
    }
    // The block freed last: the likeliest to be in cache still.
    const std::list<Block>::iterator block = it->second.back();
    it->second.pop_back();
    void* p = block->data;
    cached_bytes_ -= size;
    freed_order_.erase(block);
    ++hits_;
    return p;
  }

  // False when the cache does not take the block (off, or larger than all of it).
  bool keep(void* p, size_t size) {
    std::vector<void*> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (capacity_ == 0 || size > capacity_) return false;
      while (cached_bytes_ + size > capacity_) evicted.push_back(evict_oldest());
      freed_order_.push_front({p, size});
      by_size_[size].push_back(freed_order_.begin());
      cached_bytes_ += size;
    }
    for (void* q : evicted) std::free(q);  // outside the lock
    return true;
  }

  void set_capacity(size_t capacity) {
    std::vector<void*> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      capacity_ = capacity;
      while (cached_bytes_ > capacity_) evicted.push_back(evict_oldest());
    }
    for (void* q : evicted) std::free(q);
  }

  void release_all() {
    std::vector<void*> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!freed_order_.empty()) evicted.push_back(evict_oldest());
    }
    for (void* q : evicted) std::free(q);
  }

  HostBlockCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {capacity_, cached_bytes_, hits_, misses_};
  }

 private:
  struct Block {
    void* data;
    size_t size;
  };

  // Caller holds mu_; the cache is not empty.
  void* evict_oldest() {
    const std::list<Block>::iterator oldest = std::prev(freed_order_.end());
    std::vector<std::list<Block>::iterator>& same = by_size_[oldest->size];
    same.erase(std::find(same.begin(), same.end(), oldest));
    void* p = oldest->data;
    cached_bytes_ -= oldest->size;
    freed_order_.erase(oldest);
    return p;
  }

  std::mutex mu_;
  size_t capacity_ = 0;
  size_t cached_bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  std::list<Block> freed_order_;  // newest first
  std::unordered_map<size_t, std::vector<std::list<Block>::iterator>> by_size_;
};

// Never destroyed: tensors held by static objects are freed after every other static is gone.
BlockCache& cache() {
  static BlockCache* c = new BlockCache;
  return *c;
}

}  // namespace

void* host_allocate(size_t bytes) {
  const size_t size = rounded_size(bytes);
  if (size >= kMinCachedBytes)
    if (void* p = cache().take(size)) return p;
  void* p = std::aligned_alloc(64, size);
  CSG_CHECK(p, "out of host memory allocating ", bytes, " bytes");
  return p;
}

void host_release(void* block, size_t bytes) {
  if (!block) return;
  const size_t size = rounded_size(bytes);
  if (size >= kMinCachedBytes && cache().keep(block, size)) return;
  std::free(block);
}

void set_host_block_cache(size_t capacity_bytes) { cache().set_capacity(capacity_bytes); }

size_t default_host_block_cache_capacity() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t{1} << 30;  // unknown machine: 1 GiB
  return static_cast<size_t>(pages) * static_cast<size_t>(page) / 4;
}

void release_cached_host_blocks() { cache().release_all(); }

HostBlockCacheStats host_block_cache_stats() { return cache().stats(); }

}  // namespace csg
