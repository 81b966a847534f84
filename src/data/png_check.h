// src/data/png_check.h — a structural check of PNG files before stb_image decodes them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace csg::image {

// Walks the PNG's chunks up to IEND and checks that each chunk's declared length fits in the bytes
// that follow it. Debian's stb_image (2022-09) grows its buffer for the compressed data to a chunk's
// declared length before reading it, so a 200-byte file declaring a 1 GB IDAT made it allocate 2 GiB
// (fuzzer finding: data/fixtures/fuzz/stb_png_idat_length_past_end.png); such files are refused here.
// Returns an empty string when the file is acceptable, else what is wrong. Non-PNG input (no PNG
// signature) is accepted: other formats are stb's to judge.
std::string png_structure_error(const uint8_t* bytes, size_t n);

}  // namespace csg::image
