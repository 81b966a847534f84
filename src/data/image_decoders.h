// src/data/image_decoders.h — the two decoders behind csg::image::decode, callable one by one:
// the fuzz target runs both on every JPEG, the decode benchmark times them on the same files; and
// the PNG writer the image and label-map files share.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "csg/image.h"

namespace csg::image {

// stb_image: PNG, BMP, GIF, TGA, PSD, HDR and JPEG (no PNM). JPEGs first pass
// jpeg_structure_error (src/data/jpeg_check.h), which refuses files that overflow stb's tables.
Image decode_with_stb(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels);

// JPEG through libjpeg-turbo with PIL's decoder settings (see jpeg_decode.cpp); a csg::Error
// naming `what` when the build has no libjpeg-turbo (make JPEG=0, or jpeglib.h missing).
Image decode_with_libjpeg(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels);

// stb_image_write's PNG of `channels` x 8-bit rows (stride width x channels) at `path`; a failure
// names the file and the system's reason (no such folder, no permission, disk full).
void write_png_file(const std::string& path, int width, int height, int channels, const uint8_t* pixels);

// The SOI marker (FF D8) at byte 0: the files libjpeg-turbo reads as JPEG.
inline bool starts_like_jpeg(const uint8_t* bytes, size_t n) { return n >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8; }

}  // namespace csg::image
