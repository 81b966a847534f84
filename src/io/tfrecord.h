// src/io/tfrecord.h — TFRecord framing, the container of TensorBoard event files.
//
// A file is a sequence of records, each
//   uint64 length (little endian) | uint32 masked_crc32c(the 8 length bytes)
//   | data[length] | uint32 masked_crc32c(data)
// so a reader can tell a complete record from a torn or corrupted one.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace csg::io {

// The 16 + data.size() bytes of one record.
std::string tfrecord_frame(std::string_view data);

struct TfRecord {
  uint64_t offset = 0;     // byte of the record's first length byte in the file
  std::string_view data;   // points into the file bytes given to split_tfrecords
};

// Splits a whole file into its records, checking both CRCs of each. Errors (csg::Error) name
// `path` and the record's byte offset: a truncated header or payload, a bad length CRC, a bad
// data CRC.
std::vector<TfRecord> split_tfrecords(std::string_view file, const std::string& path);

}  // namespace csg::io
