// src/data/jpeg_check.cpp — see jpeg_check.h. Markers: FF xx; segments carry a 16-bit
// big-endian length that includes itself; SOI/EOI/RSTn/TEM have none; after SOS comes
// entropy-coded data in which FF is followed by 00 (stuffing) or a RST marker.
#include "src/data/jpeg_check.h"

namespace csg::image {

namespace {

// defined[class][id]: class 0 = DC, 1 = AC; ids 0..3.
using DefinedTables = bool[2][4];

std::string check_dht(const uint8_t* p, size_t len, DefinedTables& defined) {
  size_t at = 0;
  while (at < len) {  // one segment may hold several tables
    if (len - at < 17) return "truncated Huffman table";
    const uint8_t tc_th = p[at];
    if ((tc_th >> 4) > 1 || (tc_th & 15) > 3) return "bad Huffman table class/id";
    size_t symbols = 0;
    for (int i = 1; i <= 16; ++i) symbols += p[at + i];
    if (symbols > 256) return "Huffman table with " + std::to_string(symbols) + " codes (at most 256)";
    if (len - at - 17 < symbols) return "Huffman table longer than its segment";
    defined[tc_th >> 4][tc_th & 15] = true;
    at += 17 + symbols;
  }
  return "";
}

// stb_image decodes a scan with whatever its table slots hold: one no DHT segment defined is
// uninitialised memory (a fuzzer finding, data/fixtures/fuzz/stb_jpeg_undefined_huffman_table.jpg;
// libjpeg substitutes the standard tables there, as Motion-JPEG frames need). A scan needs the
// DC table of each component when it codes first DC bits (Ss = 0, Ah = 0: baseline scans and
// progressive DC-first scans) and the AC table when it codes AC coefficients (Se > 0).
std::string check_sos_tables(const uint8_t* p, size_t len, const DefinedTables& defined) {
  if (len < 1) return "";
  const size_t components = p[0];
  if (len < 1 + 2 * components + 3) return "";  // malformed: stb refuses it itself
  const uint8_t ss = p[1 + 2 * components], se = p[2 + 2 * components], ah = p[3 + 2 * components] >> 4;
  for (size_t c = 0; c < components; ++c) {
    const int dc = p[2 + 2 * c] >> 4, ac = p[2 + 2 * c] & 15;
    if (ss == 0 && ah == 0 && dc <= 3 && !defined[0][dc])
      return "scan uses DC Huffman table " + std::to_string(dc) + ", which no DHT segment defines";
    if (se > 0 && ac <= 3 && !defined[1][ac])
      return "scan uses AC Huffman table " + std::to_string(ac) + ", which no DHT segment defines";
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
  DefinedTables defined = {};
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
    if (m == 0xC4 || m == 0xDA) {
      std::string e = m == 0xC4 ? check_dht(b + at + 2, len - 2, defined) : check_sos_tables(b + at + 2, len - 2, defined);
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
