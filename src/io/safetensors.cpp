// src/io/safetensors.cpp — safetensors read/write (https://github.com/huggingface/safetensors, format
// v0.x), with csg's CRC-32C checksums in the metadata.
#include "csg/io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <unordered_set>

#include "csg/error.h"
#include "src/io/file_checks.h"
#include "src/io/atomic_file.h"
#include "src/io/binary_file.h"
#include "src/io/crc32c.h"
#include "src/io/json.h"
#include "src/io/raw_tensor.h"

namespace csg {
namespace {

constexpr const char* kMetadataKey = "__metadata__";
// The reference implementation refuses headers over 100 MB; so do we (a corrupt length
// would otherwise ask for an absurd allocation).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

bool parse_dtype(const std::string& s, io::RawType* out) {
  static const std::pair<const char*, io::RawType> table[] = {
      {"F32", io::RawType::F32}, {"F16", io::RawType::F16}, {"BF16", io::RawType::BF16}, {"F64", io::RawType::F64},
      {"I64", io::RawType::I64}, {"I32", io::RawType::I32}, {"I16", io::RawType::I16}, {"I8", io::RawType::I8},
      {"U8", io::RawType::U8},   {"BOOL", io::RawType::Bool}};
  for (const auto& [name, rt] : table)
    if (s == name) {
      *out = rt;
      return true;
    }
  return false;
}

const char* dtype_tag(DType dt) {
  switch (dt) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
  }
  return "?";
}

struct Entry {
  std::string name;
  io::RawType type;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& where, const std::string& name, const io::json::Value& v) {
  using K = io::json::Value::Kind;
  const std::string at = where + ": tensor '" + name + "'";
  CSG_CHECK(v.kind == K::Object, at, ": expected an object, got a ", v.kind_name());
  const io::json::Value* dtype = v.find("dtype");
  const io::json::Value* shape = v.find("shape");
  const io::json::Value* offsets = v.find("data_offsets");
  CSG_CHECK(dtype && dtype->kind == K::String, at, ": missing or non-string \"dtype\"");
  CSG_CHECK(shape && shape->kind == K::Array, at, ": missing or non-array \"shape\"");
  CSG_CHECK(offsets && offsets->kind == K::Array && offsets->items.size() == 2, at,
            ": \"data_offsets\" must be [begin, end]");
  Entry e;
  e.name = name;
  CSG_CHECK(parse_dtype(dtype->text, &e.type), at, ": unsupported dtype '", dtype->text,
            "' (csg reads F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
  for (const auto& d : shape->items) {
    CSG_CHECK(d.kind == K::Number && d.is_integer && d.integer >= 0, at, ": shape entries must be non-negative integers");
    e.shape.push_back(d.integer);
  }
  for (int i = 0; i < 2; ++i)
    CSG_CHECK(offsets->items[i].kind == K::Number && offsets->items[i].is_integer && offsets->items[i].integer >= 0,
              at, ": data_offsets must be non-negative integers");
  e.begin = static_cast<uint64_t>(offsets->items[0].integer);
  e.end = static_cast<uint64_t>(offsets->items[1].integer);
  return e;
}

// Byte count of `shape` elements of `es` bytes, or UINT64_MAX on overflow.
uint64_t checked_nbytes(const Shape& shape, size_t es) {
  uint64_t n = es;
  for (int64_t d : shape) {
    if (d != 0 && n > UINT64_MAX / static_cast<uint64_t>(d)) return UINT64_MAX;
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

std::map<std::string, std::string> metadata_of(const io::json::Value& header, const std::string& where) {
  std::map<std::string, std::string> metadata;
  const io::json::Value* v = header.find(kMetadataKey);
  if (!v) return metadata;
  CSG_CHECK(v->kind == io::json::Value::Kind::Object, where, ": __metadata__ must be an object");
  for (const auto& [k, s] : v->members) {
    CSG_CHECK(s.kind == io::json::Value::Kind::String, where, ": __metadata__ value of '", k, "' must be a string");
    metadata[k] = s.text;
  }
  return metadata;
}

// ---- checksums -----------------------------------------------------------------------------
// The header's CRC-32C is stored inside the header itself, as the metadata entry
// "crc32c":"<8 hex digits>": it covers the 8 length bytes and the header text with those 8
// digits written as "00000000". Each tensor's CRC-32C (of its data bytes) is the entry
// "crc32c.<tensor name>".
constexpr const char* kHeaderCrcKey = "crc32c";
constexpr const char* kTensorCrcPrefix = "crc32c.";
constexpr size_t kTensorCrcPrefixSize = 7;
const std::string kHeaderCrcField = std::string("\"") + kHeaderCrcKey + "\":\"";

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

bool parse_hex8(const std::string& s, uint32_t* out) {
  if (s.size() != 8 || s.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  *out = static_cast<uint32_t>(std::stoul(s, nullptr, 16));
  return true;
}

bool is_crc_key(const std::string& key) { return key == kHeaderCrcKey || key.rfind(kTensorCrcPrefix, 0) == 0; }

[[noreturn]] void damaged(const std::string& path, const std::string& what) {
  throw CorruptFile(path + ": " + what +
                    ": the file is damaged (a flipped bit on the disk, a bad copy); restore it from a copy, or use "
                    "an earlier checkpoint");
}

// CRC-32C of the length bytes and the header with the stored digits at `digits` read as zeros.
uint32_t header_crc(const uint8_t len_bytes[8], std::string header, size_t digits) {
  header.replace(digits, 8, "00000000");
  return io::crc32c_extend(io::crc32c(len_bytes, 8), header.data(), header.size());
}

// What a file's header holds: tensor entries (in data order), metadata without the checksum
// entries, and the tensors' stored CRCs when the file has them.
struct Header {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  bool checksummed = false;
  std::map<std::string, uint32_t> tensor_crc;
  uint64_t data_start = 0;
};

// Reads and checks the header of an open file: length, JSON, entries (names, dtypes, shapes,
// offsets inside the data) and, when present, its CRC and the tensors' CRC entries.
Header read_header(const io::BinaryFile& f, const std::string& path) {
  CSG_CHECK(f.size() >= 8, path, ": truncated safetensors file: ", f.size(), " bytes, no 8-byte header length");
  uint8_t len_bytes[8];
  f.read_at(0, len_bytes, 8, "header length");
  const uint64_t header_len = io::load_le64(len_bytes);
  CSG_CHECK(header_len <= kMaxHeaderBytes, path, ": safetensors header length ", header_len,
            " is implausible (over 100 MB): not a safetensors file or corrupt");
  CSG_CHECK(header_len <= f.size() - 8, path, ": truncated safetensors file: the header needs ", header_len,
            " bytes after the length but the file has ", f.size() - 8);
  std::vector<uint8_t> hbytes = f.read_vector(8, static_cast<size_t>(header_len), "header");
  const std::string text(hbytes.begin(), hbytes.end());
  // The header's own CRC first: a damaged header is reported as such, not as bad JSON.
  Header h;
  uint32_t stored = 0;
  const size_t field = text.find(kHeaderCrcField);
  if (field != std::string::npos) {
    const size_t digits = field + kHeaderCrcField.size();
    CSG_CHECK(digits + 9 <= text.size() && text[digits + 8] == '"' && parse_hex8(text.substr(digits, 8), &stored),
              path, ": safetensors header: the \"crc32c\" entry is not 8 hex digits");
    const uint32_t computed = header_crc(len_bytes, text, digits);
    if (computed != stored)
      damaged(path, "the header (" + std::to_string(header_len + 8) + " bytes) fails its CRC-32C check (stored " +
                        hex8(stored) + ", computed " + hex8(computed) + ")");
    h.checksummed = true;
  }
  const std::string where = path + ": safetensors header";
  const io::json::Value header = io::json::parse(text, where);
  CSG_CHECK(header.kind == io::json::Value::Kind::Object, where, ": expected a JSON object, got a ",
            header.kind_name());
  h.data_start = 8 + header_len;
  for (auto& [k, v] : metadata_of(header, where)) {
    if (!is_crc_key(k)) {
      h.metadata[k] = v;
      continue;
    }
    uint32_t crc = 0;
    CSG_CHECK(parse_hex8(v, &crc), where, ": checksum entry '", k, "' is '", v, "', not 8 hex digits");
    if (k == kHeaderCrcKey)
      CSG_CHECK(h.checksummed && crc == stored, where, ": the \"crc32c\" entry is not where csg writes it");
    else
      h.tensor_crc[k.substr(kTensorCrcPrefixSize)] = crc;
  }
  if (!h.checksummed && !h.tensor_crc.empty())
    damaged(path, "the header has tensor checksums but lost its own (\"crc32c\")");

  for (const auto& [name, v] : header.members)
    if (name != kMetadataKey) h.entries.push_back(parse_entry(where, name, v));
  const uint64_t data_size = f.size() - h.data_start;
  for (const Entry& e : h.entries) {
    const uint64_t need = checked_nbytes(e.shape, io::raw_size(e.type));
    CSG_CHECK(e.begin <= e.end, path, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
              "] are reversed");
    CSG_CHECK(e.end - e.begin == need, path, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
              "] span ", e.end - e.begin, " bytes but ", io::raw_name(e.type), shape_str(e.shape), " needs ", need);
    CSG_CHECK(e.end <= data_size, path, ": truncated safetensors file: tensor '", e.name, "' needs data bytes [",
              e.begin, ", ", e.end, ") but the data section has ", data_size);
    CSG_CHECK(!h.checksummed || h.tensor_crc.count(e.name), path, ": tensor '", e.name,
              "' has no checksum entry although the file has checksums");
  }
  for (const auto& [name, crc] : h.tensor_crc) {
    bool found = false;
    for (const Entry& e : h.entries) found = found || e.name == name;
    CSG_CHECK(found, path, ": checksum entry 'crc32c.", name, "' names no tensor of the file");
  }
  // File order is data order; the header's key order is arbitrary (writers sort keys).
  std::stable_sort(h.entries.begin(), h.entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  return h;
}

// The data bytes of one tensor. Where the file has checksums and this tensor's differs,
// `mismatch` receives a description (the bytes are still returned).
std::vector<uint8_t> read_tensor_bytes(const io::BinaryFile& f, const Header& h, const Entry& e,
                                       std::string* mismatch) {
  std::vector<uint8_t> bytes =
      f.read_vector(h.data_start + e.begin, static_cast<size_t>(e.end - e.begin), "tensor '" + e.name + "'");
  if (h.checksummed) {
    const uint32_t stored = h.tensor_crc.at(e.name);
    const uint32_t computed = io::crc32c(bytes.data(), bytes.size());
    if (computed != stored)
      *mismatch = "tensor '" + e.name + "' (" + std::to_string(bytes.size()) + " bytes at file offset " +
                  std::to_string(h.data_start + e.begin) + ") fails its CRC-32C check (stored " + hex8(stored) +
                  ", computed " + hex8(computed) + ")";
  }
  return bytes;
}

}  // namespace

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path, bool* checksummed) {
  io::BinaryFile f(path);
  Header h = read_header(f, path);
  if (checksummed) *checksummed = h.checksummed;
  return h.metadata;
}

std::vector<NamedTensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata,
                                          bool* checksummed) {
  io::BinaryFile f(path);
  Header h = read_header(f, path);
  std::vector<NamedTensor> out;
  out.reserve(h.entries.size());
  for (const Entry& e : h.entries) {
    std::string mismatch;
    std::vector<uint8_t> bytes = read_tensor_bytes(f, h, e, &mismatch);
    if (!mismatch.empty()) damaged(path, mismatch);
    Tensor t = io::materialize(e.type, bytes.data(), e.shape, contiguous_strides(e.shape), 0);
    t.set_name(e.name);
    out.push_back({e.name, t});
  }
  if (metadata) *metadata = std::move(h.metadata);
  if (checksummed) *checksummed = h.checksummed;
  return out;
}

SafetensorsCheck verify_safetensors(const std::string& path) {
  io::BinaryFile f(path);
  SafetensorsCheck r;
  Header h;
  try {
    h = read_header(f, path);
  } catch (const CorruptFile& e) {
    r.checksummed = true;
    r.damaged.push_back(e.what());
    return r;
  }
  r.checksummed = h.checksummed;
  r.tensors = static_cast<int64_t>(h.entries.size());
  for (const Entry& e : h.entries) {
    std::string mismatch;
    r.data_bytes += read_tensor_bytes(f, h, e, &mismatch).size();
    if (!mismatch.empty()) r.damaged.push_back(path + ": " + mismatch);
  }
  r.metadata = std::move(h.metadata);
  return r;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Host copies first: every check happens before the file system is touched.
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  std::unordered_set<std::string> names;
  for (const auto& nt : tensors) {
    CSG_CHECK(!nt.name.empty(), path, ": save_safetensors: a tensor has an empty name");
    CSG_CHECK(nt.name != kMetadataKey, path, ": save_safetensors: '__metadata__' is reserved and cannot name a tensor");
    CSG_CHECK(names.insert(nt.name).second, path, ": save_safetensors: tensor name '", nt.name, "' appears twice");
    CSG_CHECK(nt.tensor.defined(), path, ": save_safetensors: tensor '", nt.name, "' is undefined");
    Tensor t = nt.tensor.detach();
    if (t.device() != Device::CPU) t = t.to(Device::CPU);
    host.push_back(t.contiguous());
  }
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : metadata) {
    CSG_CHECK(!is_crc_key(k), path, ": save_safetensors: metadata key '", k,
              "' is reserved for the checksums the writer adds");
    meta[k] = v;
  }
  auto nbytes_of = [](const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); };
  for (size_t i = 0; i < host.size(); ++i)
    meta[kTensorCrcPrefix + tensors[i].name] = hex8(io::crc32c(host[i].raw_data(), nbytes_of(host[i])));
  meta[kHeaderCrcKey] = "00000000";  // filled in below, once the whole header is known

  std::string header = "{" + io::json::quote(kMetadataKey) + ":{";
  for (auto it = meta.begin(); it != meta.end(); ++it)
    header += (it == meta.begin() ? "" : ",") + io::json::quote(it->first) + ":" + io::json::quote(it->second);
  header += "}";
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = host[i];
    const uint64_t nbytes = nbytes_of(t);
    header += "," + io::json::quote(tensors[i].name) + ":{\"dtype\":\"" + dtype_tag(t.dtype()) + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape().size(); ++d) header += (d ? "," : "") + std::to_string(t.shape()[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += "}";
  // Pad with spaces so the tensor data starts 8-byte aligned, as the reference writer does.
  header.append((8 - header.size() % 8) % 8, ' ');

  uint8_t len[8];
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  const size_t digits = header.find(kHeaderCrcField) + kHeaderCrcField.size();
  header.replace(digits, 8, hex8(header_crc(len, header, digits)));

  io::AtomicFile f(path);
  f.write(len, 8);
  f.write(header.data(), header.size());
  for (const Tensor& t : host)
    if (t.numel() > 0) f.write(t.raw_data(), nbytes_of(t));
  f.commit();
}

bool is_safetensors_file(const std::string& path) {
  io::refuse_directory(path, "a model file");
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f, path, ": cannot open the model file (missing or unreadable)");
  char head[9] = {};
  f.read(head, 9);
  return f.gcount() == 9 && head[8] == '{';
}

}  // namespace csg
