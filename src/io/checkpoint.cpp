// src/io/checkpoint.cpp — training checkpoints over the safetensors container (checksummed).
#include "csg/io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>

#include "csg/io/safetensors.h"
#include "src/io/atomic_file.h"

namespace csg {

namespace {
constexpr const char* kFormat = "csg-checkpoint";
constexpr int kVersion = 1;

// How the accessors' errors name a checkpoint: its file, when it was loaded from one.
std::string source_of(const Checkpoint& c) { return c.path.empty() ? "checkpoint" : c.path; }
}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return t.tensor;
  CSG_FAIL(source_of(*this), ": no tensor '", name, "' (", tensors.size(),
           " tensors; saved by another configuration?)");
}

const std::string& Checkpoint::value(const std::string& key) const {
  auto it = meta.find(key);
  CSG_CHECK(it != meta.end(), source_of(*this), ": no entry '", key, "' in its metadata");
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
  CSG_FAIL(source_of(*this), ": entry '", key, "' is '", v, "', not an integer");
}

uint64_t Checkpoint::unsigned_value(const std::string& key) const {
  const std::string& v = value(key);
  try {
    size_t used = 0;
    const uint64_t r = std::stoull(v, &used);
    if (used == v.size() && v.find('-') == std::string::npos) return r;
  } catch (...) {
  }
  CSG_FAIL(source_of(*this), ": entry '", key, "' is '", v, "', not an unsigned integer");
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::map<std::string, std::string> meta = ckpt.meta;
  meta["format"] = kFormat;
  meta["format_version"] = std::to_string(kVersion);
  save_safetensors(path, ckpt.tensors, meta);
}

namespace {
void check_format(const std::map<std::string, std::string>& meta, const std::string& path) {
  auto f = meta.find("format");
  CSG_CHECK(f != meta.end() && f->second == kFormat, path,
            ": not a csg training checkpoint (a plain safetensors file? load weights with --weights instead)");
  auto v = meta.find("format_version");
  const bool known = v != meta.end() && v->second.size() == 1 && v->second[0] >= '1' && v->second[0] - '0' <= kVersion;
  CSG_CHECK(known, path, ": checkpoint format version '", v == meta.end() ? "" : v->second,
            "' is not one this csg understands (1..", kVersion, "); a newer csg wrote it?");
}
}  // namespace

void note_unverified(const std::string& path, const std::string& kind) {
  static std::mutex mutex;
  static std::set<std::string> noted;
  std::lock_guard<std::mutex> lock(mutex);
  if (!noted.insert(path).second) return;
  std::fprintf(stderr,
               "note: %s carries no checksums (a %s written by a csg before checksums); it is used unverified\n",
               path.c_str(), kind.c_str());
}

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint c;
  bool checksummed = false;
  c.tensors = load_safetensors(path, &c.meta, &checksummed);
  check_format(c.meta, path);
  if (!checksummed) note_unverified(path, "checkpoint");
  c.path = path;
  return c;
}

std::string checkpoint_damage(const std::string& path) {
  try {
    const SafetensorsCheck r = verify_safetensors(path);
    if (!r.damaged.empty())
      return r.damaged.front() +
             (r.damaged.size() > 1 ? " (and " + std::to_string(r.damaged.size() - 1) + " more damaged parts)" : "");
    check_format(r.metadata, path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::map<std::string, std::string> load_checkpoint_meta(const std::string& path) {
  std::map<std::string, std::string> meta = load_safetensors_metadata(path);
  check_format(meta, path);
  return meta;
}

std::string checkpoint_path(const std::string& dir, const std::string& prefix, int64_t step) {
  return (std::filesystem::path(dir) / (prefix + "-" + std::to_string(step) + ".ckpt")).string();
}

std::vector<CheckpointFile> list_checkpoints(const std::string& dir, const std::string& prefix) {
  namespace fs = std::filesystem;
  std::vector<CheckpointFile> found;
  std::error_code ec;
  const std::string head = prefix + "-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(head, 0) != 0 || e.path().extension() != ".ckpt") continue;
    const std::string num = name.substr(head.size(), name.size() - head.size() - 5);
    if (num.empty() || num.size() > 18 || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.push_back({std::stoll(num), e.path().string()});
  }
  std::sort(found.begin(), found.end(), [](const CheckpointFile& a, const CheckpointFile& b) { return a.step < b.step; });
  return found;
}

void prune_checkpoints(const std::string& dir, const std::string& prefix, int keep, const std::string& run_id,
                       int64_t up_to_step) {
  CSG_CHECK(!run_id.empty(), "prune_checkpoints: a run id is needed to know which checkpoints are this run's");
  std::vector<CheckpointFile> ours;
  for (const CheckpointFile& f : list_checkpoints(dir, prefix)) {
    if (f.step > up_to_step) continue;
    try {
      const std::map<std::string, std::string> meta = load_checkpoint_meta(f.path);
      auto it = meta.find("run_id");
      if (it != meta.end() && it->second == run_id) ours.push_back(f);
    } catch (const Error&) {  // unreadable: not provably ours, leave it
    }
  }
  std::error_code ec;
  for (size_t i = 0; i + std::max(keep, 0) < ours.size(); ++i) std::filesystem::remove(ours[i].path, ec);
  for (const std::string& t : io::remove_stale_temporary_files(dir))
    std::fprintf(stderr, "removed %s, left by a process that died while writing it\n", t.c_str());
}

}  // namespace csg
