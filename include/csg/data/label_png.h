// csg/data/label_png.h — label PNGs read and written by pixel VALUE, not colour.
//
// GTA5 label PNGs are palette (colour type 3) images whose palette index is the Cityscapes
// label id; stb_image (like OpenCV's greyscale reader) expands the palette to colours, which
// loses the ids (NVlabs/CSG issue #2). This reader parses the PNG chunks itself, inflates
// the IDAT stream with stb_image's zlib decoder (stbi_zlib_decode_malloc), undoes the
// scanline filters (and Adam7 interlacing) and returns the raw indices. Greyscale PNGs
// (colour type 0, 1/2/4/8-bit) are returned as their grey values (Cityscapes labelIds and
// labelTrainIds files). Other colour types and 16-bit depth are refused with a clear error.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "csg/data/datasets.h"

namespace csg::data {

// `what` names the source in error messages; a label image over `max_pixels` is refused from
// its header (the image limit, csg/image.h).
LabelMap decode_label_png(const uint8_t* bytes, size_t n, const std::string& what,
                          int64_t max_pixels = image::kDefaultMaxPixels);
LabelMap read_label_png(const std::string& path, int64_t max_pixels = image::kDefaultMaxPixels);

using Palette = std::vector<std::array<uint8_t, 3>>;  // at most 256 entries

// An 8-bit palette PNG (colour type 3) holding `labels.values` as indices into `palette`;
// every value must be < palette.size().
void write_palette_png(const std::string& path, const LabelMap& labels, const Palette& palette);
// An 8-bit greyscale PNG holding the values themselves.
void write_grey_png(const std::string& path, const LabelMap& labels);

// The Cityscapes colour of each label id 0..33 (black beyond), the palette GTA5 labels use.
Palette cityscapes_palette();
// The colour of each train id 0..classes-1: Cityscapes' official colours for its 19 classes
// (road purple, car dark blue, ...), else a fixed spread of hues.
Palette train_id_palette(int64_t classes);
// `labels` as RGB through `palette`; values beyond it (ignore, 255) are black.
image::Image colorize(const LabelMap& labels, const Palette& palette);

}  // namespace csg::data
