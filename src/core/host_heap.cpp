// src/core/host_heap.cpp — see host_heap.h.
#include "src/core/host_heap.h"

#include <mutex>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#include <malloc.h>
#endif

namespace csg {

void keep_freed_host_memory() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, -1);  // never trim
    mallopt(M_TOP_PAD, 256 << 20);
  });
#endif
}

}  // namespace csg
