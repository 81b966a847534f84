// src/data/png_check.cpp — see png_check.h. A chunk: a 4-byte big-endian length, a 4-byte type, the
// data, a 4-byte CRC.
#include "src/data/png_check.h"

#include <cstring>

namespace csg::image {

std::string png_structure_error(const uint8_t* b, size_t n) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n < 8 || std::memcmp(b, kSignature, 8) != 0) return "";
  for (size_t at = 8; at + 8 <= n;) {
    const uint64_t length = (uint64_t{b[at]} << 24) | (uint64_t{b[at + 1]} << 16) | (uint64_t{b[at + 2]} << 8) | b[at + 3];
    const std::string type(reinterpret_cast<const char*>(b + at + 4), 4);
    const uint64_t left = n - at - 8;  // the data must fit in these (a CRC cut short is stb's to report)
    if (length > left)
      return "chunk '" + type + "' at byte " + std::to_string(at) + " declares " + std::to_string(length) +
             " bytes of data but only " + std::to_string(left) + " bytes follow it";
    if (type == "IEND") break;
    at += 12 + length;
  }
  return "";  // a file cut short between chunks is stb's to report ("outofdata")
}

}  // namespace csg::image
