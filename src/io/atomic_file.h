// src/io/atomic_file.h — files that appear whole or not at all: written to a temporary file next
// to the target, fsynced, renamed over it, and the rename made durable. A crash (or an error)
// while writing leaves the previous file intact and no temporary file behind.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace csg::io {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // creates "<path>.tmp.<pid>.<n>"
  ~AtomicFile();                                 // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);  // errors name the file and the reason (disk full, ...)
  void commit();                           // fsync, close, rename over the target

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_text_file_atomically(const std::string& path, const std::string& text);

// Removes the temporary files AtomicFile left in `dir` when its process died while writing (kill -9
// during a checkpoint): "<name>.tmp.<pid>.<n>" whose process no longer runs on this machine. Returns
// the paths removed. A temporary file of a live process (this one included) is left alone.
std::vector<std::string> remove_stale_temporary_files(const std::string& dir);

}  // namespace csg::io
