// src/io/atomic_file.cpp — temporary file, fsync, rename, fsync of the folder.
#include "src/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "csg/error.h"

namespace csg::io {

namespace {
std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  static std::atomic<unsigned> counter{0};
  tmp_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CSG_CHECK(fd_ >= 0, path, ": cannot create temporary file ", tmp_, " (", std::strerror(errno), ")");
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    CSG_CHECK(w > 0, tmp_, ": write failed (", std::strerror(errno), ")");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  CSG_CHECK(::fsync(fd_) == 0, tmp_, ": fsync failed (", std::strerror(errno), ")");
  const int fd = fd_;
  fd_ = -1;
  CSG_CHECK(::close(fd) == 0, tmp_, ": close failed (", std::strerror(errno), ")");
  CSG_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, path_, ": cannot rename ", tmp_, " over it (",
            std::strerror(errno), ")");
  committed_ = true;
  // Make the rename itself durable.
  const int dfd = ::open(parent_dir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace csg::io
