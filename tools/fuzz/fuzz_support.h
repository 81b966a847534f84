// tools/fuzz/fuzz_support.h — shared pieces of the libFuzzer targets.
//
// The readers under test take a path, so each input is written to an anonymous in-memory
// file (memfd) and handed over as /proc/self/fd/N: nothing is added to the library and no
// disk file is created per execution. A csg::Error is the expected answer to a malformed
// input and is swallowed; any other exception escapes and libFuzzer reports it (abort via
// std::terminate), as it does crashes and sanitizer reports.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "csg/error.h"
#include "csg/tensor.h"

namespace csg_fuzz {

// One memfd per process, rewritten for every input.
class MemFile {
 public:
  MemFile() {
    fd_ = memfd_create("csg-fuzz", 0);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
      ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

inline MemFile& mem_file() {
  static MemFile f;
  return f;
}

// Reads every element of a loaded tensor so that a tensor whose storage is shorter than its
// shape claims shows up as a heap overflow here, not later in training.
inline double touch(const csg::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return 0;
  csg::Tensor c = t.contiguous();
  double s = 0;
  const int64_t n = c.numel();
  switch (c.dtype()) {
    case csg::DType::F32: { const float* p = c.data<float>(); for (int64_t i = 0; i < n; ++i) s += p[i] != 0; break; }
    case csg::DType::F64: { const double* p = c.data<double>(); for (int64_t i = 0; i < n; ++i) s += p[i] != 0; break; }
    case csg::DType::I64: { const int64_t* p = c.data<int64_t>(); for (int64_t i = 0; i < n; ++i) s += p[i] != 0; break; }
  }
  return s;
}

// Runs f(); csg::Error is an expected outcome, everything else propagates.
template <class F>
int guarded(F&& f) {
  try {
    f();
  } catch (const csg::Error&) {
  }
  return 0;
}

}  // namespace csg_fuzz
