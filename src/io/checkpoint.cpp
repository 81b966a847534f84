// src/io/checkpoint.cpp — training checkpoints over the safetensors container.
#include "csg/io/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "csg/io/safetensors.h"

namespace csg {

namespace {
constexpr const char* kFormat = "csg-checkpoint";
constexpr int kVersion = 1;
}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return t.tensor;
  CSG_FAIL("checkpoint: no tensor '", name, "' (", tensors.size(), " tensors; saved by another configuration?)");
}

const std::string& Checkpoint::value(const std::string& key) const {
  auto it = meta.find(key);
  CSG_CHECK(it != meta.end(), "checkpoint: no entry '", key, "' in its metadata");
  return it->second;
}

int64_t Checkpoint::int_value(const std::string& key) const {
  const std::string& v = value(key);
  try {
    size_t used = 0;
    int64_t r = std::stoll(v, &used);
    if (used == v.size()) return r;
  } catch (...) {
  }
  CSG_FAIL("checkpoint: entry '", key, "' is '", v, "', not an integer");
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::map<std::string, std::string> meta = ckpt.meta;
  meta["format"] = kFormat;
  meta["format_version"] = std::to_string(kVersion);
  save_safetensors(path, ckpt.tensors, meta);
}

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint c;
  c.tensors = load_safetensors(path, &c.meta);
  auto f = c.meta.find("format");
  CSG_CHECK(f != c.meta.end() && f->second == kFormat, path,
            ": not a csg training checkpoint (a plain safetensors file? load weights with --weights instead)");
  const std::string& v = c.meta["format_version"];
  const bool known = v.size() == 1 && v[0] >= '1' && v[0] - '0' <= kVersion;
  CSG_CHECK(known, path, ": checkpoint format version '", v, "' is not one this csg understands (1..", kVersion,
            "); a newer csg wrote it?");
  return c;
}

std::string checkpoint_path(const std::string& dir, const std::string& prefix, int64_t step) {
  return (std::filesystem::path(dir) / (prefix + "-" + std::to_string(step) + ".ckpt")).string();
}

void prune_checkpoints(const std::string& dir, const std::string& prefix, int keep) {
  namespace fs = std::filesystem;
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string head = prefix + "-";
    if (name.rfind(head, 0) != 0 || e.path().extension() != ".ckpt") continue;
    const std::string num = name.substr(head.size(), name.size() - head.size() - 5);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoll(num), e.path());
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep < found.size(); ++i) fs::remove(found[i].second, ec);
}

}  // namespace csg
