// load_pth: torch.save checkpoints (zip and legacy formats) -> named CPU tensors.
#include "csg/io/pth.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "csg/error.h"
#include "src/io/binary_file.h"
#include "src/io/pickle.h"
#include "src/io/raw_tensor.h"
#include "src/io/zip_reader.h"

namespace csg {
namespace {

using io::pickle::StorageRef;
using io::pickle::TensorRef;
using io::pickle::Value;
using io::pickle::ValuePtr;
using Kind = Value::Kind;

// torch.serialization.MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, as pickle's LONG1 stores it
// (little-endian two's complement).
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr int64_t kLegacyProtocolVersion = 1001;
constexpr int kMaxNesting = 64;

struct FoundTensor {
  std::string name;
  std::shared_ptr<const TensorRef> ref;
};

// Bytes of one storage: a zip entry's payload or a span of a legacy file.
struct StorageBytes {
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string label;  // "zip entry archive/data/0" / "storage '140234' (legacy, byte 1234)"
};

bool storage_raw_type(const std::string& type, io::RawType* out) {
  static const std::map<std::string, io::RawType> m = {
      {"FloatStorage", io::RawType::F32}, {"DoubleStorage", io::RawType::F64}, {"HalfStorage", io::RawType::F16},
      {"BFloat16Storage", io::RawType::BF16}, {"LongStorage", io::RawType::I64}, {"IntStorage", io::RawType::I32},
      {"ShortStorage", io::RawType::I16}, {"CharStorage", io::RawType::I8}, {"ByteStorage", io::RawType::U8},
      {"BoolStorage", io::RawType::Bool}};
  auto it = m.find(type);
  if (it == m.end()) return false;
  *out = it->second;
  return true;
}

// Bytes per element of every torch.*Storage type, supported or not: the legacy format's
// storages must be walked past even when csg cannot convert them.
size_t storage_element_size(const std::string& type) {
  io::RawType rt;
  if (storage_raw_type(type, &rt)) return io::raw_size(rt);
  static const std::map<std::string, size_t> other = {{"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16},
                                                      {"QInt8Storage", 1},        {"QUInt8Storage", 1},
                                                      {"QInt32Storage", 4},       {"QUInt4x2Storage", 1},
                                                      {"QUInt2x4Storage", 1}};
  auto it = other.find(type);
  return it == other.end() ? 0 : it->second;
}

// ---- choosing and flattening the state dict -------------------------------------------------

void flatten(const std::string& path, const Value& dict, const std::string& prefix, int depth,
             std::vector<FoundTensor>& out) {
  CSG_CHECK(depth < kMaxNesting, path, ": state dict nests deeper than ", kMaxNesting, " levels at '", prefix,
            "' (or refers to itself)");
  for (const auto& [k, v] : dict.entries) {
    std::string key;
    if (k->kind == Kind::String) {
      key = k->text;
    } else if (k->kind == Kind::Int) {
      key = std::to_string(k->integer);
    } else {
      CSG_CHECK(v->kind != Kind::Tensor, path, ": a tensor under '", prefix, "' has a ", k->kind_name(),
                " key; state dict keys must be strings");
      continue;
    }
    if (v->kind == Kind::Tensor) out.push_back({prefix + key, v->tensor});
    else if (v->kind == Kind::Dict) flatten(path, *v, prefix + key + ".", depth + 1, out);
    // Other values (epoch counters, metrics, hyper-parameters, lists) carry no weights.
  }
}

std::vector<FoundTensor> state_dict_tensors(const std::string& path, const Value& root) {
  CSG_CHECK(root.kind == Kind::Dict, path, ": the checkpoint holds a ", root.kind_name(),
            ", not a dict of tensors (save model.state_dict())");
  const Value* dict = &root;
  for (const char* wrapper : {"state_dict", "model"}) {
    ValuePtr inner = root.get(wrapper);
    if (inner && inner->kind == Kind::Dict) {
      dict = inner.get();
      break;
    }
  }
  std::vector<FoundTensor> found;
  flatten(path, *dict, "", 0, found);
  const std::string kParallel = "module.";
  std::unordered_set<std::string> seen;
  for (auto& t : found) {
    if (t.name.compare(0, kParallel.size(), kParallel) == 0) t.name.erase(0, kParallel.size());
    CSG_CHECK(seen.insert(t.name).second, path, ": tensor name '", t.name,
              "' occurs twice (after removing the DataParallel 'module.' prefix)");
  }
  return found;
}

// Every storage the pickle refers to, by key (the legacy format needs their element
// types to walk the storages that follow the pickles).
void collect_storages(const Value& v, std::map<std::string, std::shared_ptr<const StorageRef>>& out,
                      std::unordered_set<const Value*>& visited) {
  if (!visited.insert(&v).second) return;
  if (v.kind == Kind::Storage) out.emplace(v.storage->key, v.storage);
  if (v.kind == Kind::Tensor) out.emplace(v.tensor->storage->key, v.tensor->storage);
  for (const auto& it : v.items) collect_storages(*it, out, visited);
  for (const auto& [k, val] : v.entries) {
    collect_storages(*k, out, visited);
    collect_storages(*val, out, visited);
  }
}

// ---- tensors from storage bytes ----------------------------------------------------------------

Tensor build_tensor(const std::string& path, const FoundTensor& t, const StorageBytes& bytes) {
  const TensorRef& ref = *t.ref;
  const StorageRef& st = *ref.storage;
  io::RawType rt;
  CSG_CHECK(storage_raw_type(st.type, &rt), path, ": tensor '", t.name, "': unsupported dtype (torch.", st.type,
            "); csg loads float32/16, bfloat16, float64 and integer/bool tensors");
  const size_t es = io::raw_size(rt);
  const uint64_t declared = static_cast<uint64_t>(st.numel) * es;
  CSG_CHECK(static_cast<uint64_t>(st.numel) <= SIZE_MAX / es && declared <= bytes.nbytes, path, ": ", bytes.label,
            " holds ", bytes.nbytes, " bytes but storage '", st.key, "' declares ", st.numel, " elements x ", es,
            " bytes (", st.type, ") = ", declared,
            ": the storage is shorter than its tensors need (truncated or corrupt checkpoint)");
  const int64_t base = st.is_view ? st.view_offset : 0;
  const int64_t limit = st.is_view ? st.view_numel : st.numel;
  const int64_t extent = io::strided_extent(ref.shape, ref.strides, ref.offset);
  CSG_CHECK(extent >= 0, path, ": tensor '", t.name, "' has an invalid size ", shape_str(ref.shape), ", stride ",
            shape_str(ref.strides), " or storage offset ", ref.offset, " (pickle byte offset ", ref.pickle_offset, ")");
  CSG_CHECK(extent <= limit, path, ": tensor '", t.name, "' (size ", shape_str(ref.shape), ", stride ",
            shape_str(ref.strides), ", storage offset ", ref.offset, ") needs ", extent, " elements but storage '",
            st.key, "' is shorter: it has ", limit, " elements");
  Tensor out = io::materialize(rt, bytes.data + base * es, ref.shape, ref.strides, ref.offset);
  out.set_name(t.name);
  return out;
}

// ---- zip format ---------------------------------------------------------------------------------

std::vector<NamedTensor> load_zip(const std::string& path) {
  io::ZipReader zip(path);
  // torch.save names the archive's top folder after the file ("archive/", "resnet50/").
  std::string pkl_name;
  for (const auto& e : zip.entries()) {
    const std::string& n = e.name;
    const std::string suffix = "data.pkl";
    if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string prefix = n.substr(0, n.size() - suffix.size());
      const bool top_level = prefix.empty() || (prefix.back() == '/' && prefix.find('/') == prefix.size() - 1);
      if (top_level && (pkl_name.empty() || n.size() < pkl_name.size())) pkl_name = n;
    }
  }
  CSG_CHECK(!pkl_name.empty(), path, ": zip archive has no data.pkl entry, so it is not a torch.save checkpoint");
  const std::string prefix = pkl_name.substr(0, pkl_name.size() - 8);
  CSG_CHECK(zip.find(prefix + "constants.pkl") == nullptr, path,
            ": this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the model's "
            "state_dict() with torch.save instead");

  if (const io::ZipEntry* bo = zip.find(prefix + "byteorder")) {
    std::vector<uint8_t> b = zip.read(*bo);
    const std::string order(b.begin(), b.end());
    CSG_CHECK(order == "little", path, ": ", bo->name, " says '", order,
              "'; only little-endian checkpoints are supported");
  }

  const std::vector<uint8_t> pkl = zip.read(pkl_name);
  const io::pickle::Unpickled root = io::pickle::unpickle(pkl.data(), pkl.size(), path + " (" + pkl_name + ")");
  const std::vector<FoundTensor> found = state_dict_tensors(path, *root.value);

  std::unordered_map<std::string, std::vector<uint8_t>> loaded;  // storage key -> bytes, shared by views
  std::vector<NamedTensor> out;
  out.reserve(found.size());
  for (const auto& t : found) {
    const StorageRef& st = *t.ref->storage;
    const std::string entry = prefix + "data/" + st.key;
    auto it = loaded.find(st.key);
    if (it == loaded.end()) {
      const io::ZipEntry* ze = zip.find(entry);
      CSG_CHECK(ze != nullptr, path, ": zip entry ", entry, " (storage '", st.key, "' of tensor '", t.name,
                "') is missing from the archive");
      it = loaded.emplace(st.key, zip.read(*ze)).first;
    }
    out.push_back({t.name, build_tensor(path, t, {it->second.data(), it->second.size(), "zip entry " + entry})});
  }
  return out;
}

// ---- legacy format ------------------------------------------------------------------------------

bool has_legacy_magic(const std::vector<uint8_t>& file) {
  if (file.empty() || file[0] != 0x80) return false;
  try {
    io::pickle::Unpickled m = io::pickle::unpickle(file.data(), file.size(), "magic");
    return m.value->kind == Kind::BigInt && m.value->text == kLegacyMagic;
  } catch (const Error&) {
    return false;
  }
}

std::vector<NamedTensor> load_legacy(const std::string& path, const std::vector<uint8_t>& file) {
  size_t pos = 0;
  auto next = [&](const char* what) {
    io::pickle::Unpickled u =
        io::pickle::unpickle(file.data() + pos, file.size() - pos, path + " (legacy format, " + what + ")", pos);
    pos += u.end;
    return u.value;
  };
  next("magic number");
  ValuePtr version = next("protocol version");
  CSG_CHECK(version->kind == Kind::Int && version->integer == kLegacyProtocolVersion, path,
            ": legacy checkpoint protocol version is not ", kLegacyProtocolVersion);
  ValuePtr sys_info = next("sys_info");
  if (sys_info->kind == Kind::Dict) {
    ValuePtr le = sys_info->get("little_endian");
    CSG_CHECK(!le || le->kind != Kind::Bool || le->boolean, path,
              ": the checkpoint was written on a big-endian machine; only little-endian is supported");
  }
  ValuePtr root = next("object");
  ValuePtr keys = next("storage keys");
  CSG_CHECK(keys->kind == Kind::List, path, ": legacy checkpoint: the storage key list is a ", keys->kind_name());

  std::map<std::string, std::shared_ptr<const StorageRef>> storages;
  std::unordered_set<const Value*> visited;
  collect_storages(*root, storages, visited);

  // Storages follow the pickles in key-list order: int64 element count, then the bytes.
  std::map<std::string, StorageBytes> spans;
  for (const auto& k : keys->items) {
    CSG_CHECK(k->kind == Kind::String, path, ": legacy checkpoint: a storage key is a ", k->kind_name());
    auto it = storages.find(k->text);
    CSG_CHECK(it != storages.end(), path, ": legacy checkpoint lists storage '", k->text,
              "' that no persistent id describes (corrupt file)");
    const StorageRef& st = *it->second;
    const size_t es = storage_element_size(st.type);
    CSG_CHECK(es > 0, path, ": storage '", st.key, "': unknown element size of torch.", st.type);
    CSG_CHECK(file.size() - pos >= 8, path, ": truncated file: storage '", st.key, "' header at byte ", pos,
              " runs past the end (", file.size(), " bytes)");
    int64_t numel;
    std::memcpy(&numel, file.data() + pos, 8);
    CSG_CHECK(numel == st.numel, path, ": storage '", st.key, "' at byte ", pos, " has ", numel,
              " elements but its persistent id says ", st.numel, " (corrupt file)");
    pos += 8;
    // numel >= 0 here (persistent ids are checked); compare in elements to avoid overflow.
    const uint64_t nbytes = static_cast<uint64_t>(numel) * es;
    CSG_CHECK(static_cast<uint64_t>(numel) <= (file.size() - pos) / es, path, ": truncated file: storage '", st.key,
              "' needs ", numel, " x ", es, " bytes from byte ", pos, " but the file has ", file.size(), " bytes");
    spans[st.key] = {file.data() + pos, static_cast<size_t>(nbytes),
                     "storage '" + st.key + "' (byte " + std::to_string(pos) + ")"};
    pos += nbytes;
  }

  const std::vector<FoundTensor> found = state_dict_tensors(path, *root);
  std::vector<NamedTensor> out;
  out.reserve(found.size());
  for (const auto& t : found) {
    auto it = spans.find(t.ref->storage->key);
    CSG_CHECK(it != spans.end(), path, ": storage '", t.ref->storage->key, "' of tensor '", t.name,
              "' is missing from the legacy checkpoint's storage list");
    out.push_back({t.name, build_tensor(path, t, it->second)});
  }
  return out;
}

}  // namespace

std::vector<NamedTensor> load_pth(const std::string& path) {
  std::vector<uint8_t> head;
  {
    io::BinaryFile f(path);
    head = f.read_vector(0, static_cast<size_t>(std::min<uint64_t>(f.size(), 64)), "file header");
  }
  if (io::ZipReader::has_zip_magic(head.data(), head.size())) return load_zip(path);
  if (!head.empty() && head[0] == 0x80) {
    io::BinaryFile f(path);
    std::vector<uint8_t> file = f.read_vector(0, static_cast<size_t>(f.size()), "legacy checkpoint");
    if (has_legacy_magic(file)) return load_legacy(path, file);
  }
  std::string first;
  for (size_t i = 0; i < std::min<size_t>(head.size(), 8); ++i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02x", head[i]);
    first += (i ? " " : "") + std::string(b);
  }
  CSG_FAIL(path, ": not a PyTorch checkpoint: wrong magic (first bytes ", head.empty() ? "<empty file>" : first,
           "); expected a torch.save zip archive (PK\\3\\4) or the legacy torch.save format");
}

}  // namespace csg
