// src/io/atomic_file.cpp — temporary file, fsync, rename, fsync of the folder; the removal of the
// temporary files of processes that died while writing.
#include "src/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

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

namespace {
// The process id of "<name>.tmp.<pid>.<n>", or -1 for any other name.
long temporary_file_owner(const std::string& name) {
  const size_t tmp = name.rfind(".tmp.");
  if (tmp == std::string::npos) return -1;
  const std::string rest = name.substr(tmp + 5);
  const size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string::npos || dot + 1 == rest.size()) return -1;
  const std::string pid = rest.substr(0, dot), n = rest.substr(dot + 1);
  if (pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos ||
      n.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stol(pid);
}
}  // namespace

std::vector<std::string> remove_stale_temporary_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const long pid = temporary_file_owner(e.path().filename().string());
    if (pid <= 0 || !e.is_regular_file(ec)) continue;
    // kill(pid, 0): ESRCH when no such process runs (EPERM: it runs, under another user).
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (fs::remove(e.path(), ec)) removed.push_back(e.path().string());
  }
  return removed;
}

}  // namespace csg::io
