// src/data/label_maps.cpp — the Cityscapes label table (ids, train ids, names, colours), as in
// cityscapesScripts' labels.py.
#include <algorithm>

#include "csg/data/label_png.h"
#include "csg/data/labels.h"

namespace csg::data {

namespace {
struct LabelRow {
  uint8_t id;
  uint8_t train_id;  // 255 = not evaluated
  std::array<uint8_t, 3> colour;
};

// Ids 0..33 of labels.py ("license plate", id -1, cannot occur in an 8-bit PNG).
constexpr LabelRow kLabels[] = {
    {0, 255, {0, 0, 0}},         // unlabeled
    {1, 255, {0, 0, 0}},         // ego vehicle
    {2, 255, {0, 0, 0}},         // rectification border
    {3, 255, {0, 0, 0}},         // out of roi
    {4, 255, {0, 0, 0}},         // static
    {5, 255, {111, 74, 0}},      // dynamic
    {6, 255, {81, 0, 81}},       // ground
    {7, 0, {128, 64, 128}},      // road
    {8, 1, {244, 35, 232}},      // sidewalk
    {9, 255, {250, 170, 160}},   // parking
    {10, 255, {230, 150, 140}},  // rail track
    {11, 2, {70, 70, 70}},       // building
    {12, 3, {102, 102, 156}},    // wall
    {13, 4, {190, 153, 153}},    // fence
    {14, 255, {180, 165, 180}},  // guard rail
    {15, 255, {150, 100, 100}},  // bridge
    {16, 255, {150, 120, 90}},   // tunnel
    {17, 5, {153, 153, 153}},    // pole
    {18, 255, {153, 153, 153}},  // polegroup
    {19, 6, {250, 170, 30}},     // traffic light
    {20, 7, {220, 220, 0}},      // traffic sign
    {21, 8, {107, 142, 35}},     // vegetation
    {22, 9, {152, 251, 152}},    // terrain
    {23, 10, {70, 130, 180}},    // sky
    {24, 11, {220, 20, 60}},     // person
    {25, 12, {255, 0, 0}},       // rider
    {26, 13, {0, 0, 142}},       // car
    {27, 14, {0, 0, 70}},        // truck
    {28, 15, {0, 60, 100}},      // bus
    {29, 255, {0, 0, 90}},       // caravan
    {30, 255, {0, 0, 110}},      // trailer
    {31, 16, {0, 80, 100}},      // train
    {32, 17, {0, 0, 230}},       // motorcycle
    {33, 18, {119, 11, 32}},     // bicycle
};
}  // namespace

const std::array<const char*, kCityscapesNumClasses>& cityscapes_class_names() {
  static const std::array<const char*, kCityscapesNumClasses> names = {
      "road",       "sidewalk", "building", "wall",  "fence", "pole",  "traffic light",
      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
      "truck",      "bus",      "train",    "motorcycle", "bicycle"};
  return names;
}

const std::array<uint8_t, 256>& cityscapes_id_to_train_id() {
  static const std::array<uint8_t, 256> table = [] {
    std::array<uint8_t, 256> t;
    t.fill(kIgnoreLabel);
    for (const LabelRow& r : kLabels) t[r.id] = r.train_id;
    return t;
  }();
  return table;
}

const std::array<uint8_t, kCityscapesNumClasses>& cityscapes_train_id_to_id() {
  static const std::array<uint8_t, kCityscapesNumClasses> table = [] {
    std::array<uint8_t, kCityscapesNumClasses> t{};
    for (const LabelRow& r : kLabels)
      if (r.train_id != kIgnoreLabel) t[r.train_id] = r.id;
    return t;
  }();
  return table;
}

Palette cityscapes_palette() {
  Palette p(256, {0, 0, 0});
  for (const LabelRow& r : kLabels) p[r.id] = r.colour;
  return p;
}

Palette train_id_palette(int64_t classes) {
  Palette p;
  if (classes == kCityscapesNumClasses) {
    const Palette by_id = cityscapes_palette();
    for (uint8_t id : cityscapes_train_id_to_id()) p.push_back(by_id[id]);
    return p;
  }
  for (int64_t c = 0; c < classes; ++c)
    p.push_back({uint8_t((c * 67 + 40) % 256), uint8_t((c * 131 + 90) % 256), uint8_t((c * 197 + 160) % 256)});
  return p;
}

image::Image colorize(const LabelMap& labels, const Palette& palette) {
  image::Image im;
  im.width = labels.width;
  im.height = labels.height;
  im.rgb.assign(labels.values.size() * 3, 0);
  for (size_t i = 0; i < labels.values.size(); ++i)
    if (labels.values[i] < palette.size()) std::copy(palette[labels.values[i]].begin(), palette[labels.values[i]].end(), &im.rgb[3 * i]);
  return im;
}

void apply_label_table(LabelMap& labels, const std::array<uint8_t, 256>& table) {
  for (uint8_t& v : labels.values) v = table[v];
}

void check_train_ids(const LabelMap& labels, int num_classes, const std::string& what) {
  for (size_t i = 0; i < labels.values.size(); ++i) {
    const int v = labels.values[i];
    if (v < num_classes || v == kIgnoreLabel) continue;
    const int x = static_cast<int>(i % labels.width), y = static_cast<int>(i / labels.width);
    CSG_FAIL(what, ": pixel (", x, ",", y, ") has value ", v, ", which is not a train id (0..", num_classes - 1,
             " or 255); if this file holds Cityscapes label ids (a *_labelIds.png or a raw GTA5 label), read it "
             "with the 'ids' label encoding");
  }
}

}  // namespace csg::data
