// src/core/host_heap.cpp — see host_heap.h.
#include "src/core/host_heap.h"

#include <mutex>

#include "src/core/host_block_cache.h"

// A sanitizer brings its own allocator, which mallopt does not reach: GCC says so with
// __SANITIZE_*__, clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CSG_OWN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CSG_OWN_ALLOCATOR 1
#endif
#endif

#if defined(__GLIBC__) && !defined(CSG_OWN_ALLOCATOR)
#define CSG_GLIBC_HEAP 1
#include <malloc.h>
#endif

namespace csg {

bool glibc_heap() {
#ifdef CSG_GLIBC_HEAP
  return true;
#else
  return false;
#endif
}

void keep_freed_host_memory() {
#ifndef CSG_OWN_ALLOCATOR  // a sanitizer must see every free
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef CSG_GLIBC_HEAP
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, -1);  // never trim
    mallopt(M_TOP_PAD, 256 << 20);
#endif
    set_host_block_cache(default_host_block_cache_capacity());
  });
#endif
}

}  // namespace csg
