// src/core/host_block_cache.h — tensor storage on the host, and freed large blocks kept for reuse.
//
// A training step allocates and frees the same large activations every step. glibc's heap keeps
// freed memory (keep_freed_host_memory), but it places each step's blocks anew among the ones that
// outlive a step (momentum, gradients, compiled weights), so the heap keeps growing for a few steps
// and every new page is faulted in and zeroed by the kernel (DeepLabv2-ResNet-101 at 512 px: 160 000
// faults, about a second, in the second step); blocks above 32 MB are mapped afresh every step. With
// the cache on, a freed block of kMinCachedBytes or more goes to a free list of its size, and the next
// request of that size takes it back: from the second step on, a step's requests are the last step's
// sizes, so nothing is faulted, and nothing moves. Off by default (the inference library, the
// sanitizer builds, which must see every free); keep_freed_host_memory turns it on for training.
#pragma once
#include <cstddef>
#include <cstdint>

namespace csg {

// Host memory for a tensor's storage, 64-byte aligned; never null (fails with an error naming the size).
void* host_allocate(size_t bytes);
// Gives back a block from host_allocate with the same `bytes`: into the cache when it is on and the
// block is large, to the C library otherwise. Safe from any thread.
void host_release(void* block, size_t bytes);

// Blocks below this size go straight back to the C library, which serves them from its bins.
constexpr size_t kMinCachedBytes = size_t{1} << 20;

// Turns the cache on, holding at most `capacity_bytes` of freed blocks (past it, the blocks freed
// longest ago go back to the C library first); 0 turns it off and hands every cached block back.
void set_host_block_cache(size_t capacity_bytes);
// The capacity keep_freed_host_memory sets: a quarter of the machine's memory.
size_t default_host_block_cache_capacity();
// Hands every cached block back to the C library; the cache stays on.
void release_cached_host_blocks();

struct HostBlockCacheStats {
  size_t capacity = 0;      // 0: off
  size_t cached_bytes = 0;  // freed blocks held now
  uint64_t hits = 0;        // requests served from the cache
  uint64_t misses = 0;      // requests of cacheable size that were not
};
HostBlockCacheStats host_block_cache_stats();

}  // namespace csg
