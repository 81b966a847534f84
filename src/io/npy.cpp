// src/io/npy.cpp — the .npy format: magic, version 1.0, a padded Python-dict header, raw data.
#include "csg/io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "src/io/atomic_file.h"

namespace csg {

namespace {
const char* descr_of(DType dt) {
  switch (dt) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::I64: return "<i8";
  }
  return "";
}
}  // namespace

void save_npy(const std::string& path, const Tensor& t_in) {
  Tensor t = t_in.detach().to(Device::CPU).contiguous();
  std::ostringstream dict;
  dict << "{'descr': '" << descr_of(t.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (int64_t d = 0; d < t.dim(); ++d) dict << t.shape()[d] << (t.dim() == 1 || d + 1 < t.dim() ? "," : "");
  dict << "), }";
  std::string header = dict.str();
  const size_t unpadded = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + header + '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  // Written whole or not at all (a crash keeps the previous file), as checkpoints are.
  io::AtomicFile f(path);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char magic[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', '\x01', '\x00', static_cast<char>(len & 0xff),
                          static_cast<char>(len >> 8)};
  f.write(magic, sizeof magic);
  f.write(header.data(), header.size());
  f.write(t.raw_data(), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  f.commit();
}

Tensor load_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot open .npy file");
  char magic[10];
  f.read(magic, 10);
  CSG_CHECK(f.good() && std::memcmp(magic, "\x93NUMPY", 6) == 0 && magic[6] == 1, path,
            ": not a version-1 .npy file");
  const size_t len = static_cast<uint8_t>(magic[8]) | (static_cast<uint8_t>(magic[9]) << 8);
  std::string header(len, '\0');
  f.read(header.data(), len);
  CSG_CHECK(f.good(), path, ": truncated header");
  DType dt;
  if (header.find("'<f4'") != std::string::npos) dt = DType::F32;
  else if (header.find("'<f8'") != std::string::npos) dt = DType::F64;
  else if (header.find("'<i8'") != std::string::npos) dt = DType::I64;
  else CSG_FAIL(path, ": unsupported dtype in header ", header);
  CSG_CHECK(header.find("'fortran_order': False") != std::string::npos, path, ": Fortran-order arrays are not supported");
  size_t open = header.find("'shape': ("), close = header.find(')', open);
  CSG_CHECK(open != std::string::npos && close != std::string::npos, path, ": no shape in header");
  Shape shape;
  std::string dims = header.substr(open + 10, close - open - 10);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(item));
  Tensor t = empty(shape, {dt, Device::CPU});
  f.read(static_cast<char*>(t.raw_data()), t.numel() * dtype_size(dt));
  CSG_CHECK(f.gcount() == static_cast<std::streamsize>(t.numel() * dtype_size(dt)), path, ": data truncated (expected ",
            t.numel() * dtype_size(dt), " bytes)");
  return t;
}

}  // namespace csg
