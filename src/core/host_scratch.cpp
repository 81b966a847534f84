// src/core/host_scratch.cpp — see host_scratch.h.
#include "src/core/host_scratch.h"

#include <sys/mman.h>

#include "csg/error.h"

namespace csg {

void* HostScratch::reserve(size_t bytes, const char* what) {
  constexpr size_t kHugePage = size_t(2) << 20;
  if (bytes_ < bytes) {
    data_.reset();  // free the old one first: never hold both
    const size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, size);
    CSG_CHECK(p, what, ": out of host memory allocating ", size, " bytes");
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);  // advisory: failure only means 4 KB pages
#endif
    data_.reset(p);
    bytes_ = size;
  }
  return data_.get();
}

}  // namespace csg
