// csg/io/safetensors.h — the safetensors format (https://github.com/huggingface/safetensors):
//   [u64 little-endian N][N bytes of JSON header][tensor bytes]
// header: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"key": "value", ...}}   (offsets relative to the tensor bytes)
#pragma once
#include <map>
#include <string>
#include <vector>

#include "csg/io/named_tensor.h"

namespace csg {

// Reads every tensor as a contiguous CPU tensor, in the order of their data in the file.
// F32, F16, BF16 -> F32; F64 -> F64; I64, I32, I16, I8, U8, BOOL -> I64 (all exact). Other
// dtypes (F8_*, U16-U64, complex) are refused. `metadata`, when given, receives the
// "__metadata__" string map (empty when absent). Errors (csg::Error) name the file and the
// tensor or header position: missing file, truncated file, bad JSON, offsets outside the
// data or not matching dtype x shape, unsupported dtype.
std::vector<NamedTensor> load_safetensors(const std::string& path,
                                          std::map<std::string, std::string>* metadata = nullptr);

// Whether `path` starts as a safetensors file does (an 8-byte header length, then '{'), whatever
// its name: csg's checkpoints (.ckpt) and exports are safetensors. An error names a file that
// cannot be opened.
bool is_safetensors_file(const std::string& path);

// Only the "__metadata__" map (empty when absent): reads the header, not the tensor data.
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

// Writes tensors (any device; F32 -> "F32", F64 -> "F64", I64 -> "I64") in the given order,
// with an optional "__metadata__" map. Names must be unique, non-empty and not
// "__metadata__". The write is atomic: a temporary file next to `path` is written, fsynced
// and renamed over `path`, so a crash leaves either the old file or the new one.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace csg
