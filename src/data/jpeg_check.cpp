// src/data/jpeg_check.cpp — see jpeg_check.h. Markers: FF xx; segments carry a 16-bit
// big-endian length that includes itself; SOI/EOI/RSTn/TEM have none; after SOS comes
// entropy-coded data in which FF is followed by 00 (stuffing) or a RST marker.
#include "src/data/jpeg_check.h"

namespace csg::image {

namespace {

std::string check_dht(const uint8_t* p, size_t len) {
  size_t at = 0;
  while (at < len) {  // one segment may hold several tables
    if (len - at < 17) return "truncated Huffman table";
    const uint8_t tc_th = p[at];
    if ((tc_th >> 4) > 1 || (tc_th & 15) > 3) return "bad Huffman table class/id";
    size_t symbols = 0;
    for (int i = 1; i <= 16; ++i) symbols += p[at + i];
    if (symbols > 256) return "Huffman table with " + std::to_string(symbols) + " codes (at most 256)";
    if (len - at - 17 < symbols) return "Huffman table longer than its segment";
    at += 17 + symbols;
  }
  return "";
}

}  // namespace

std::string jpeg_structure_error(const uint8_t* b, size_t n) {
  // stb_image takes any run of 0xFF fill bytes before the SOI marker (FF D8) as a JPEG too.
  size_t at = 0;
  while (at < n && b[at] == 0xFF) ++at;
  if (at == 0 || at >= n || b[at] != 0xD8) return "";  // not a JPEG
  ++at;
  while (at + 1 < n) {
    if (b[at] != 0xFF) return "expected a marker at byte " + std::to_string(at);
    const uint8_t m = b[at + 1];
    at += 2;
    if (m == 0xFF) {  // fill byte before a marker
      --at;
      continue;
    }
    if (m == 0xD9) return "";                             // EOI
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (at + 2 > n) return "truncated marker segment";
    const size_t len = (static_cast<size_t>(b[at]) << 8) | b[at + 1];
    if (len < 2 || at + len > n) return "marker segment runs past the end of the file";
    if (m == 0xC4) {
      std::string e = check_dht(b + at + 2, len - 2);
      if (!e.empty()) return e + " at byte " + std::to_string(at);
    }
    at += len;
    if (m == 0xDA) {  // entropy-coded data up to the next real marker
      while (at + 1 < n && !(b[at] == 0xFF && b[at + 1] != 0x00 && !(b[at + 1] >= 0xD0 && b[at + 1] <= 0xD7))) ++at;
    }
  }
  return "";  // ran out without EOI: truncated files are stb's to report
}

}  // namespace csg::image
