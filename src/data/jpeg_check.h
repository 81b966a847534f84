// src/data/jpeg_check.h — a structural check of JPEG files before stb_image decodes them. Still
// needed where stb_image decodes JPEG: builds without libjpeg-turbo (make JPEG=0),
// JpegDecoder::Stb, and files with fill bytes before SOI (not JPEG to libjpeg or PIL, JPEG to stb).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace csg::image {

// Walks the JPEG's marker segments (lengths, and the entropy-coded data between scans) and
// checks every Huffman table (DHT): at most 16 code lengths summing to <= 256 symbols that fit
// in the segment, and that every scan (SOS) uses only Huffman tables defined before it.
// Debian's stb_image (2022-09) overflows its tables on the first kind of input and decodes with
// uninitialised tables on the second (fuzzer findings: data/fixtures/fuzz/stb_jpeg_*), so such
// files are refused here.
// Returns an empty string when the file is acceptable, else what is wrong. Non-JPEG input
// (no SOI marker) is accepted: other formats are stb's to judge.
std::string jpeg_structure_error(const uint8_t* bytes, size_t n);

}  // namespace csg::image
