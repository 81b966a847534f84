// csg/data/labels.h — the Cityscapes label table (cityscapesScripts labels.py) as csg uses it:
// label id -> train id for the 19 evaluated classes, everything else -> 255 (ignored).
#pragma once
#include <array>
#include <cstdint>

#include "csg/data/datasets.h"

namespace csg::data {

constexpr int kCityscapesNumClasses = 19;

// Train-id order: road, sidewalk, building, wall, fence, pole, traffic light, traffic sign,
// vegetation, terrain, sky, person, rider, car, truck, bus, train, motorcycle, bicycle.
const std::array<const char*, kCityscapesNumClasses>& cityscapes_class_names();

// Indexed by label id (0..255); 255 for ids without a train id (0-6, 9, 10, 14-16, 18, 29,
// 30, 34+; the id -1 "license plate" never appears in 8-bit label PNGs).
const std::array<uint8_t, 256>& cityscapes_id_to_train_id();

// The label id of each train id (7, 8, 11, ...), to write predictions in the id format.
const std::array<uint8_t, kCityscapesNumClasses>& cityscapes_train_id_to_id();

// Replaces every value v of `labels` by table[v].
void apply_label_table(LabelMap& labels, const std::array<uint8_t, 256>& table);

// Checks that every value is a train id (< num_classes or 255); `what` names the file.
// Values such as 26 mean the file holds ids, and the error says so.
void check_train_ids(const LabelMap& labels, int num_classes, const std::string& what);

}  // namespace csg::data
