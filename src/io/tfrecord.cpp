// src/io/tfrecord.cpp — writes and checks record frames.
#include "src/io/tfrecord.h"

#include "csg/error.h"
#include "src/io/binary_file.h"
#include "src/io/crc32c.h"

namespace csg::io {

namespace {
constexpr uint64_t kHeaderBytes = 12;  // length + its CRC
constexpr uint64_t kFooterBytes = 4;   // the data CRC

void put_le(std::string& out, uint64_t value, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
}  // namespace

std::string tfrecord_frame(std::string_view data) {
  std::string record;
  record.reserve(kHeaderBytes + data.size() + kFooterBytes);
  put_le(record, data.size(), 8);
  put_le(record, masked_crc32c(record.data(), 8), 4);
  record.append(data.data(), data.size());
  put_le(record, masked_crc32c(data.data(), data.size()), 4);
  return record;
}

std::vector<TfRecord> split_tfrecords(std::string_view file, const std::string& path) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  const uint64_t size = file.size();
  std::vector<TfRecord> records;
  uint64_t offset = 0;
  while (offset < size) {
    CSG_CHECK(size - offset >= kHeaderBytes, path, ": truncated record at byte ", offset, ": its header needs ",
              kHeaderBytes, " bytes, the file has ", size - offset, " left (a write was cut short)");
    const uint64_t length = load_le64(bytes + offset);
    CSG_CHECK(load_le32(bytes + offset + 8) == masked_crc32c(bytes + offset, 8), path,
              ": corrupted record at byte ", offset, ": the CRC of its length field does not match");
    const uint64_t left = size - offset - kHeaderBytes;
    CSG_CHECK(left >= kFooterBytes && length <= left - kFooterBytes, path, ": truncated record at byte ", offset,
              ": it needs ", length, " data bytes + ", kFooterBytes, " CRC bytes, the file has ", left,
              " left (a write was cut short)");
    const uint8_t* data = bytes + offset + kHeaderBytes;
    CSG_CHECK(load_le32(data + length) == masked_crc32c(data, length), path, ": corrupted record at byte ", offset,
              ": the CRC of its ", length, " data bytes does not match");
    records.push_back({offset, file.substr(offset + kHeaderBytes, length)});
    offset += kHeaderBytes + length + kFooterBytes;
  }
  return records;
}

}  // namespace csg::io
