// csg/io/safetensors.h — the safetensors format (https://github.com/huggingface/safetensors):
//   [u64 little-endian N][N bytes of JSON header][tensor bytes]
// header: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"key": "value", ...}}   (offsets relative to the tensor bytes)
//
// Checksums: every file csg writes carries CRC-32C checksums in its metadata, which other
// safetensors readers ignore:
//   "crc32c"        the header's: CRC-32C of the 8 length bytes and the header text, with this
//                   entry's own 8 hex digits counted as "00000000";
//   "crc32c.<name>" tensor <name>'s: CRC-32C of its data bytes.
// (8 lowercase hex digits each.) Every load verifies them; files without them (other writers,
// csg before checksums) load unverified. The readers return the metadata without these entries.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "csg/io/named_tensor.h"

namespace csg {

// Reads every tensor as a contiguous CPU tensor, in the order of their data in the file.
// F32, F16, BF16 -> F32; F64 -> F64; I64, I32, I16, I8, U8, BOOL -> I64 (all exact). Other
// dtypes (F8_*, U16-U64, complex) are refused. `metadata`, when given, receives the
// "__metadata__" string map (empty when absent); `checksummed` whether the file carries
// checksums. Errors (csg::Error) name the file and the tensor or header position: missing
// file, a directory, truncated file, bad JSON, offsets outside the data or not matching
// dtype x shape, unsupported dtype; a header or tensor whose CRC-32C differs from the stored
// one is a csg::CorruptFile naming the file and the part.
std::vector<NamedTensor> load_safetensors(const std::string& path,
                                          std::map<std::string, std::string>* metadata = nullptr,
                                          bool* checksummed = nullptr);

// Only the "__metadata__" map (empty when absent): reads and verifies the header, not the tensor data.
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path, bool* checksummed = nullptr);

// What verify_safetensors found: every byte of the file read and checked.
struct SafetensorsCheck {
  bool checksummed = false;
  int64_t tensors = 0;
  uint64_t data_bytes = 0;
  std::map<std::string, std::string> metadata;  // without the checksum entries
  // One message per failed check (the header, or each damaged tensor), naming the file.
  std::vector<std::string> damaged;
};
// Checks a file without building tensors: a damaged header, or every damaged tensor, is listed in
// `damaged`; a file that is not readable safetensors at all (missing, truncated, bad JSON) throws
// as load_safetensors does.
SafetensorsCheck verify_safetensors(const std::string& path);

// Whether `path` starts as a safetensors file does (an 8-byte header length, then '{'), whatever
// its name: csg's checkpoints (.ckpt) and exports are safetensors. An error names a file that
// cannot be opened.
bool is_safetensors_file(const std::string& path);

// Writes tensors (any device; F32 -> "F32", F64 -> "F64", I64 -> "I64") in the given order,
// with an optional "__metadata__" map and the checksum entries above. Names must be unique,
// non-empty and not "__metadata__"; metadata keys "crc32c" and "crc32c.*" are the writer's.
// The write is atomic: a temporary file next to `path` is written, fsynced and renamed over
// `path`, so a crash leaves either the old file or the new one.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace csg
