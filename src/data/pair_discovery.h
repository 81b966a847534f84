// src/data/pair_discovery.h — the image/label pairs GTA5's and Cityscapes' layouts name, before
// any file is checked: the data sets (segmentation_sets.cpp, gta5_list.cpp) refuse a missing file
// at once; `csg check-data` (check_data.cpp) lists every one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/data/datasets.h"

namespace csg::data {

// Every <root>/images/*.png, sorted, paired with <root>/labels/<same name>.
std::vector<SegmentationPair> gta5_pairs(const std::string& root);

// The images a --train-list names, in list order, with the line of each.
struct ListedPairs {
  std::vector<SegmentationPair> pairs;
  std::vector<int64_t> lines;
};
ListedPairs gta5_list_pairs(const std::string& root, const std::string& list_file);

// Every <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png, sorted, paired with its gtFine label:
// _labelTrainIds.png where it exists (Auto) or is asked for (TrainIds), else _labelIds.png.
std::vector<SegmentationPair> cityscapes_pairs(const std::string& root, const std::string& split,
                                               CityscapesLabels labels = CityscapesLabels::Auto);

}  // namespace csg::data
