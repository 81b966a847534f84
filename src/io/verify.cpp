// src/io/verify.cpp — see csg/io/verify.h.
#include "csg/io/verify.h"

#include <cstdio>
#include <fstream>

#include "csg/error.h"
#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "src/io/file_checks.h"
#include "src/io/zip_reader.h"

namespace csg {

namespace {

std::string megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

// The kind of a safetensors file from its metadata.
std::string safetensors_kind(const std::map<std::string, std::string>& meta) {
  auto format = meta.find("format");
  if (format == meta.end()) return "safetensors state dict";
  if (format->second == "csg-checkpoint") {
    auto step = meta.find("step");
    return "csg checkpoint" + (step == meta.end() ? std::string() : " (step " + step->second + ")");
  }
  if (format->second == "csg-model") return "csg model file";
  return "safetensors file (format '" + format->second + "')";
}

FileVerdict verify_safetensors_file(const std::string& path) {
  FileVerdict v;
  const SafetensorsCheck c = verify_safetensors(path);
  v.kind = safetensors_kind(c.metadata);
  v.summary = std::to_string(c.tensors) + " tensors, " + megabytes(c.data_bytes);
  v.damage = c.damaged;
  v.state = !c.damaged.empty() ? FileVerdict::State::Damaged
            : c.checksummed    ? FileVerdict::State::Intact
                               : FileVerdict::State::Unverified;
  return v;
}

FileVerdict verify_pth_file(const std::string& path, bool zip) {
  FileVerdict v;
  v.kind = zip ? "PyTorch .pth (zip)" : "PyTorch .pth (legacy format)";
  // load_pth checks the CRC-32 of every zip entry it reads; the legacy format has none.
  const std::vector<NamedTensor> tensors = load_pth(path);
  uint64_t bytes = 0;
  for (const NamedTensor& t : tensors) bytes += static_cast<uint64_t>(t.tensor.numel()) * dtype_size(t.tensor.dtype());
  v.summary = std::to_string(tensors.size()) + " tensors, " + megabytes(bytes);
  v.state = zip ? FileVerdict::State::Intact : FileVerdict::State::Unverified;
  return v;
}

}  // namespace

const char* verdict_name(FileVerdict::State s) {
  switch (s) {
    case FileVerdict::State::Intact: return "ok";
    case FileVerdict::State::Unverified: return "unverified";
    case FileVerdict::State::Damaged: return "DAMAGED";
    case FileVerdict::State::Unreadable: return "UNREADABLE";
  }
  return "?";
}

FileVerdict verify_file(const std::string& path) {
  try {
    io::refuse_directory(path, "a model file or checkpoint");
    std::ifstream f(path, std::ios::binary);
    CSG_CHECK(f, path, ": cannot open (missing file or no permission)");
    uint8_t head[9] = {};
    f.read(reinterpret_cast<char*>(head), 9);
    const size_t got = static_cast<size_t>(f.gcount());
    if (got == 9 && head[8] == '{') return verify_safetensors_file(path);
    return verify_pth_file(path, io::ZipReader::has_zip_magic(head, got));
  } catch (const Error& e) {
    FileVerdict v;
    v.state = FileVerdict::State::Unreadable;
    v.kind = "not a readable model file";
    v.damage.push_back(e.what());
    return v;
  }
}

}  // namespace csg
