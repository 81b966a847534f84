// csg/data/tiny.h — small synthetic data sets in the exact published layouts, for tests, CI
// and smoke runs of the training commands. Deterministic in `seed`: the same call writes the
// same bytes. Existing files of the same names are overwritten; nothing else is touched.
#pragma once
#include <cstdint>
#include <string>

namespace csg::data {

// VisDA-17 layout under `dir`:
//   dir/train/image_list.txt        "<class>/<class>_NNNN.png <label>"   (synthetic look: flat
//   dir/train/<class>/*.png          colours on a plain light background, like renderings)
//   dir/validation/image_list.txt   "<class>/<class>_NNNN.jpg <label>"   (real look: textured
//   dir/validation/<class>/*.jpg     background, noise, colour casts; JPEG like the real set)
// Class c (the 12 VisDA classes in order) is a shape (disk, square, triangle, ring: c % 4) in
// a colour (red, green, blue: c / 4) at a random place and size; images are 36..52 px per
// side. Sample i has class i % 12, so n >= 12 covers every class.
void write_tiny_visda(const std::string& dir, uint64_t seed, int n_train = 48, int n_val = 24);

// GTA5 and Cityscapes layouts under `dir`:
//   dir/gta5/images/NNNNN.png, dir/gta5/labels/NNNNN.png (8-bit palette PNGs, index = Cityscapes
//     label id, Cityscapes colours as palette — as GTA5 ships them), 64x35 px
//   dir/cityscapes/leftImg8bit/val/<city>/<city>_000000_NNNNNN_leftImg8bit.png and
//   dir/cityscapes/gtFine/val/<city>/<city>_000000_NNNNNN_gtFine_labelIds.png (greyscale ids),
//     64x32 px, cities frankfurt, lindau, munster
// Street-like scenes: sky, buildings/vegetation, road, sidewalk, a car, a person, a pole, a
// traffic sign, plus ids without a train id (unlabeled, static, ground, ego vehicle) so the
// id -> train id mapping and the ignore label are exercised. GTA5 images have flat colours;
// Cityscapes images are textured and darker.
void write_tiny_gta5_cityscapes(const std::string& dir, uint64_t seed, int n_gta5 = 8, int n_cityscapes = 6);

}  // namespace csg::data
