// src/core/host_heap.cpp — see host_heap.h.
#include "src/core/host_heap.h"

#include <mutex>

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
#ifdef CSG_GLIBC_HEAP
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, -1);  // never trim
    mallopt(M_TOP_PAD, 256 << 20);
  });
#endif
}

}  // namespace csg
