// safetensors read/write (https://github.com/huggingface/safetensors, format v0.x).
#include "csg/io/safetensors.h"


#include <algorithm>
#include <fstream>
#include <unordered_set>

#include "csg/error.h"
#include "src/io/atomic_file.h"
#include "src/io/binary_file.h"
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

// The parsed JSON header of an open file and the byte where the tensor data starts.
io::json::Value read_header(const io::BinaryFile& f, const std::string& path, uint64_t* data_start) {
  CSG_CHECK(f.size() >= 8, path, ": truncated safetensors file: ", f.size(), " bytes, no 8-byte header length");
  uint8_t len_bytes[8];
  f.read_at(0, len_bytes, 8, "header length");
  const uint64_t header_len = io::load_le64(len_bytes);
  CSG_CHECK(header_len <= kMaxHeaderBytes, path, ": safetensors header length ", header_len,
            " is implausible (over 100 MB): not a safetensors file or corrupt");
  CSG_CHECK(header_len <= f.size() - 8, path, ": truncated safetensors file: the header needs ", header_len,
            " bytes after the length but the file has ", f.size() - 8);
  std::vector<uint8_t> hbytes = f.read_vector(8, static_cast<size_t>(header_len), "header");
  const std::string where = path + ": safetensors header";
  const io::json::Value header = io::json::parse(std::string(hbytes.begin(), hbytes.end()), where);
  CSG_CHECK(header.kind == io::json::Value::Kind::Object, where, ": expected a JSON object, got a ",
            header.kind_name());
  *data_start = 8 + header_len;
  return header;
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

}  // namespace

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  io::BinaryFile f(path);
  uint64_t data_start = 0;
  return metadata_of(read_header(f, path, &data_start), path + ": safetensors header");
}

std::vector<NamedTensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  io::BinaryFile f(path);
  uint64_t data_start = 0;
  const io::json::Value header = read_header(f, path, &data_start);
  const std::string where = path + ": safetensors header";
  if (metadata) *metadata = metadata_of(header, where);
  std::vector<Entry> entries;
  for (const auto& [name, v] : header.members)
    if (name != kMetadataKey) entries.push_back(parse_entry(where, name, v));

  const uint64_t data_size = f.size() - data_start;
  for (const Entry& e : entries) {
    const uint64_t need = checked_nbytes(e.shape, io::raw_size(e.type));
    CSG_CHECK(e.begin <= e.end, path, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
              "] are reversed");
    CSG_CHECK(e.end - e.begin == need, path, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
              "] span ", e.end - e.begin, " bytes but ", io::raw_name(e.type), shape_str(e.shape), " needs ", need);
    CSG_CHECK(e.end <= data_size, path, ": truncated safetensors file: tensor '", e.name, "' needs data bytes [",
              e.begin, ", ", e.end, ") but the data section has ", data_size);
  }
  // File order is data order; the header's key order is arbitrary (writers sort keys).
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });

  std::vector<NamedTensor> out;
  out.reserve(entries.size());
  for (const Entry& e : entries) {
    std::vector<uint8_t> bytes =
        f.read_vector(data_start + e.begin, static_cast<size_t>(e.end - e.begin), "tensor '" + e.name + "'");
    Tensor t = io::materialize(e.type, bytes.data(), e.shape, contiguous_strides(e.shape), 0);
    t.set_name(e.name);
    out.push_back({e.name, t});
  }
  return out;
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

  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += io::json::quote(kMetadataKey) + ":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it)
      header += (it == metadata.begin() ? "" : ",") + io::json::quote(it->first) + ":" + io::json::quote(it->second);
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = host[i];
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header += (first ? "" : ",") + io::json::quote(tensors[i].name) + ":{\"dtype\":\"" + dtype_tag(t.dtype()) +
              "\",\"shape\":[";
    for (size_t d = 0; d < t.shape().size(); ++d) header += (d ? "," : "") + std::to_string(t.shape()[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
    first = false;
  }
  header += "}";
  // Pad with spaces so the tensor data starts 8-byte aligned, as the reference writer does.
  header.append((8 - header.size() % 8) % 8, ' ');

  io::AtomicFile f(path);
  uint8_t len[8];
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  f.write(len, 8);
  f.write(header.data(), header.size());
  for (const Tensor& t : host)
    if (t.numel() > 0) f.write(t.raw_data(), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  f.commit();
}

bool is_safetensors_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f, path, ": cannot open the model file (missing or unreadable)");
  char head[9] = {};
  f.read(head, 9);
  return f.gcount() == 9 && head[8] == '{';
}

}  // namespace csg
