// src/io/binary_file.cpp — see binary_file.h.
#include "src/io/binary_file.h"

#include <cerrno>
#include <cstring>

#include "csg/error.h"
#include "src/io/file_checks.h"

namespace csg::io {

BinaryFile::BinaryFile(const std::string& path) : path_(path) {
  refuse_directory(path, "a file");
  file_ = std::fopen(path.c_str(), "rb");
  CSG_CHECK(file_ != nullptr, path, ": cannot open for reading (", std::strerror(errno), ")");
  if (fseeko(file_, 0, SEEK_END) != 0) {
    std::fclose(file_);
    CSG_FAIL(path, ": cannot seek (", std::strerror(errno), ")");
  }
  off_t end = ftello(file_);
  if (end < 0) {
    std::fclose(file_);
    CSG_FAIL(path, ": cannot determine the file size (is it a directory?)");
  }
  size_ = static_cast<uint64_t>(end);
}

BinaryFile::~BinaryFile() {
  if (file_) std::fclose(file_);
}

void BinaryFile::read_at(uint64_t offset, void* dst, size_t n, const std::string& what) const {
  CSG_CHECK(offset <= size_ && n <= size_ - offset, path_, ": truncated file: ", what, " needs bytes [",
            offset, ", ", offset + n, ") but the file has ", size_, " bytes");
  if (n == 0) return;
  CSG_CHECK(fseeko(file_, static_cast<off_t>(offset), SEEK_SET) == 0, path_, ": cannot seek to byte ", offset,
            " (", std::strerror(errno), ")");
  size_t got = std::fread(dst, 1, n, file_);
  CSG_CHECK(got == n, path_, ": read error in ", what, " at byte ", offset + got);
}

std::vector<uint8_t> BinaryFile::read_vector(uint64_t offset, size_t n, const std::string& what) const {
  CSG_CHECK(offset <= size_ && n <= size_ - offset, path_, ": truncated file: ", what, " needs bytes [",
            offset, ", ", offset + n, ") but the file has ", size_, " bytes");
  std::vector<uint8_t> out(n);
  read_at(offset, out.data(), n, what);
  return out;
}

}  // namespace csg::io
