// src/io/binary_file.h — positioned reads from a file, with errors that name the file.
//
// The checkpoint readers (zip, legacy torch.save, safetensors) read headers and tensor
// payloads at known offsets; every short read is reported as a truncated file.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace csg::io {

class BinaryFile {
 public:
  // Opens `path` for reading; throws csg::Error naming the path ("is a directory", "cannot open ...").
  explicit BinaryFile(const std::string& path);
  ~BinaryFile();
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Reads exactly n bytes at `offset`; `what` names the part being read in the error
  // raised when the file ends first (e.g. "entry archive/data/3").
  void read_at(uint64_t offset, void* dst, size_t n, const std::string& what) const;
  std::vector<uint8_t> read_vector(uint64_t offset, size_t n, const std::string& what) const;

 private:
  std::string path_;
  FILE* file_ = nullptr;
  uint64_t size_ = 0;
};

// Little-endian field readers over a byte buffer (bounds are the caller's job).
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}

}  // namespace csg::io
