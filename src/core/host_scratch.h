// src/core/host_scratch.h — a grow-only host buffer kept between calls, 2 MB aligned and backed by
// huge pages where the kernel allows. A fresh allocation this large is served by mmap, and touching
// its pages again on every call costs a page fault per 4 KB (in a VM this can exceed the time of
// the GEMM it feeds); 4 KB pages would also cost a TLB miss every 1024 floats of a streamed column.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>

namespace csg {

class HostScratch {
 public:
  // At least `bytes` bytes, growing (old contents dropped) when needed; `what` names the buffer
  // in the out-of-memory error.
  void* reserve(size_t bytes, const char* what);

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t bytes_ = 0;
};

}  // namespace csg
