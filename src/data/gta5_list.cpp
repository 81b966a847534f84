// src/data/gta5_list.cpp — GTA5 restricted to a list of image names (see datasets.h).
#include <filesystem>
#include <fstream>

#include "csg/data/datasets.h"
#include "src/data/pair_discovery.h"
#include "src/io/file_checks.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {
const char* const kFormat =
    "the list names images of <root>/images/ one per line (e.g. 00001.png), as the official GTA5 train split";
}  // namespace

ListedPairs gta5_list_pairs(const std::string& root, const std::string& list_file) {
  require_dataset_root(DatasetKind::Gta5, root);
  std::error_code ec;
  io::refuse_directory(list_file, "the --train-list file");
  CSG_CHECK(fs::is_regular_file(list_file, ec), "--train-list ", list_file, ": no such file; give the text file of ",
            "the split to train on (", kFormat, "), or leave --train-list out to train on every image");
  std::ifstream in(list_file);
  CSG_CHECK(in.good(), "--train-list ", list_file, ": cannot be read; check its permissions");
  const fs::path images = fs::path(root) / "images", labels = fs::path(root) / "labels";
  ListedPairs listed;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;  // blank line
    std::string name = line.substr(begin, line.find_first_of(" \t\r", begin) - begin);
    if (name.rfind("images/", 0) == 0) name = name.substr(7);  // the reference's list lines
    listed.pairs.push_back({(images / name).string(), (labels / name).string(), LabelEncoding::Ids});
    listed.lines.push_back(number);
  }
  CSG_CHECK(!listed.pairs.empty(), "--train-list ", list_file, ": names no image; ", kFormat);
  return listed;
}

std::unique_ptr<SegmentationDataset> open_gta5(const std::string& root, const std::string& list_file) {
  ListedPairs listed = gta5_list_pairs(root, list_file);
  std::error_code ec;
  for (size_t i = 0; i < listed.pairs.size(); ++i) {
    const SegmentationPair& p = listed.pairs[i];
    const std::string name = fs::path(p.image).filename().string();
    CSG_CHECK(fs::is_regular_file(p.image, ec), list_file, ":", listed.lines[i], ": '", name, "' is not in ",
              fs::path(p.image).parent_path().string(), "; ", kFormat, ": check --data (the GTA5 root) or the list");
    CSG_CHECK(fs::is_regular_file(p.label, ec), list_file, ":", listed.lines[i], ": '", name, "' has no label ",
              p.label, "; every listed image needs <root>/labels/<same name>: restore the label or drop the line");
  }
  return std::make_unique<SegmentationDataset>("GTA5 (" + root + ", " + list_file + ")", std::move(listed.pairs));
}

}  // namespace csg::data
