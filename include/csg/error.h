// csg/error.h — the one exception type and the checks every op runs at its entry.
//
// Every error names the op (or file) it comes from, the shapes involved and, where
// there is one, the fix. The source location is appended so a report can be traced.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace csg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when the CUDA allocator cannot satisfy a request even after emptying its cache.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

// A file whose bytes do not match the checksums stored in it (a flipped bit on a disk, a bad
// copy): the message names the file and the part (header, tensor) that failed.
class CorruptFile : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void fail(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace csg

// CSG_CHECK(cond, "conv2d: input must be 4-D, got ", shape_str(x.shape()));
#define CSG_CHECK(cond, ...)                                                     \
  do {                                                                           \
    if (!(cond)) ::csg::detail::fail(__FILE__, __LINE__, ::csg::detail::cat(__VA_ARGS__)); \
  } while (0)

#define CSG_FAIL(...) ::csg::detail::fail(__FILE__, __LINE__, ::csg::detail::cat(__VA_ARGS__))
