// src/io/zip_reader.h — the subset of ZIP that torch.save writes: a central directory of
// stored (uncompressed) entries, with ZIP64 records for large archives.
//
// torch.save (PyTorch >= 1.6) writes "<name>/data.pkl", "<name>/data/<key>" (one raw
// little-endian storage per key), "<name>/version" and, in newer releases,
// "<name>/byteorder". Entries are stored, never compressed; payloads are aligned to 64
// bytes by padding in the local header's extra field, so the payload offset is read from
// each local header rather than assumed.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/io/binary_file.h"

namespace csg::io {

struct ZipEntry {
  std::string name;
  uint64_t local_header_offset = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint16_t method = 0;  // 0 = stored
  uint16_t flags = 0;
  uint32_t crc32 = 0;
};

class ZipReader {
 public:
  // Opens `path` and reads its central directory (ZIP64 end records included). Throws
  // csg::Error naming the file when the end-of-central-directory record is missing
  // (truncated or not a zip) or a directory record is malformed.
  explicit ZipReader(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // nullptr when absent

  // The payload of a stored entry, CRC-checked. Refuses compressed or encrypted entries
  // and names the entry in every error.
  std::vector<uint8_t> read(const ZipEntry& entry) const;
  std::vector<uint8_t> read(const std::string& name) const;  // throws if absent

  // True when the first bytes are a ZIP local file header ("PK\3\4") or an empty
  // archive's end record ("PK\5\6").
  static bool has_zip_magic(const uint8_t* head, size_t n);

 private:
  void read_central_directory();
  uint64_t payload_offset(const ZipEntry& entry) const;

  BinaryFile file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// CRC-32 (ISO-HDLC, as ZIP uses) of a byte range.
uint32_t crc32(const uint8_t* data, size_t n);

}  // namespace csg::io
