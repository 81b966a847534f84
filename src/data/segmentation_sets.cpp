// src/data/segmentation_sets.cpp — GTA5 and Cityscapes: discovery (directory walks or pair
// lists) and decoding of image + label map, with label ids mapped to the 19 train ids.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "csg/data/datasets.h"
#include "csg/data/label_png.h"
#include "csg/data/labels.h"
#include "src/data/pair_discovery.h"
#include "src/io/file_checks.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "a, b, c and 7 more" for error messages.
std::string first_few(const std::vector<std::string>& items, size_t n = 5) {
  std::ostringstream os;
  for (size_t i = 0; i < items.size() && i < n; ++i) os << (i ? ", " : "") << items[i];
  if (items.size() > n) os << " and " << items.size() - n << " more";
  return os.str();
}

void require_dir(const fs::path& dir, const std::string& what, const char* layout) {
  std::error_code ec;
  CSG_CHECK(fs::is_directory(dir, ec), what, ": directory '", dir.string(), "' does not exist; ", layout);
}

const char* const kGta5Layout =
    "the GTA5 layout is <root>/images/NNNNN.png with <root>/labels/NNNNN.png (palette PNGs holding Cityscapes "
    "label ids)";
const char* const kCityscapesImageSuffix = "_leftImg8bit.png";
const char* const kCityscapesLayout =
    "the Cityscapes layout is <root>/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with "
    "<root>/gtFine/<split>/<city>/<name>_gtFine_labelIds.png or _gtFine_labelTrainIds.png";

}  // namespace

const char* label_encoding_name(LabelEncoding e) { return e == LabelEncoding::Ids ? "ids" : "train ids"; }

SegmentationDataset::SegmentationDataset(std::string name, std::vector<SegmentationPair> pairs, int64_t max_pixels)
    : name_(std::move(name)), pairs_(std::move(pairs)), max_pixels_(max_pixels) {}

int SegmentationDataset::num_classes() const { return kCityscapesNumClasses; }

std::string SegmentationDataset::path(int64_t index) const {
  CSG_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0,", size(), ")");
  return pairs_[static_cast<size_t>(index)].image;
}

Sample SegmentationDataset::get(int64_t index) const {
  CSG_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0,", size(), ")");
  const SegmentationPair& p = pairs_[static_cast<size_t>(index)];
  Sample s;
  s.image = image::load(p.image, max_pixels_);
  s.label_map = read_label_png(p.label, max_pixels_);
  CSG_CHECK(s.label_map.width == s.image.width && s.label_map.height == s.image.height, p.image, ": image is ",
            s.image.width, "x", s.image.height, " but its label ", p.label, " is ", s.label_map.width, "x",
            s.label_map.height);
  if (p.encoding == LabelEncoding::Ids)
    apply_label_table(s.label_map, cityscapes_id_to_train_id());
  else
    check_train_ids(s.label_map, kCityscapesNumClasses, p.label);
  s.path = p.image;
  s.index = index;
  return s;
}

std::vector<SegmentationPair> gta5_pairs(const std::string& root) {
  require_dataset_root(DatasetKind::Gta5, root);
  const fs::path images = fs::path(root) / "images", labels = fs::path(root) / "labels";
  require_dir(images, "GTA5", kGta5Layout);
  require_dir(labels, "GTA5", kGta5Layout);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(images)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && ends_with(n, ".png")) names.push_back(n);
  }
  CSG_CHECK(!names.empty(), "GTA5: no .png images in '", images.string(), "'; ", kGta5Layout);
  std::sort(names.begin(), names.end());
  std::vector<SegmentationPair> pairs;
  for (const std::string& n : names) pairs.push_back({(images / n).string(), (labels / n).string(), LabelEncoding::Ids});
  return pairs;
}

std::unique_ptr<SegmentationDataset> open_gta5(const std::string& root) {
  std::vector<SegmentationPair> pairs = gta5_pairs(root);
  std::vector<std::string> missing;
  std::error_code ec;
  for (const SegmentationPair& p : pairs)
    if (!fs::is_regular_file(p.label, ec)) missing.push_back(p.label);
  CSG_CHECK(missing.empty(), "GTA5: ", missing.size(), " of ", pairs.size(), " images have no label: missing ",
            first_few(missing), "; ", kGta5Layout);
  return std::make_unique<SegmentationDataset>("GTA5 (" + root + ")", std::move(pairs));
}

std::vector<SegmentationPair> cityscapes_pairs(const std::string& root, const std::string& split,
                                               CityscapesLabels labels) {
  require_dataset_root(DatasetKind::Cityscapes, root);
  const fs::path image_dir = fs::path(root) / "leftImg8bit" / split, label_dir = fs::path(root) / "gtFine" / split;
  require_dir(image_dir, "Cityscapes", kCityscapesLayout);
  require_dir(label_dir, "Cityscapes", kCityscapesLayout);
  std::vector<fs::path> images;
  for (const auto& e : fs::recursive_directory_iterator(image_dir))
    if (e.is_regular_file() && ends_with(e.path().filename().string(), kCityscapesImageSuffix))
      images.push_back(e.path());
  CSG_CHECK(!images.empty(), "Cityscapes: no *", kCityscapesImageSuffix, " files under '", image_dir.string(), "'; ",
            kCityscapesLayout);
  std::sort(images.begin(), images.end());
  std::vector<SegmentationPair> pairs;
  std::error_code ec;
  for (const fs::path& img : images) {
    // <city>/<name>_leftImg8bit.png -> <city>/<name>_gtFine_<kind>.png
    const fs::path rel = img.lexically_relative(image_dir);
    const std::string file = rel.filename().string();
    const std::string stem = file.substr(0, file.size() - std::string(kCityscapesImageSuffix).size());
    const fs::path base = label_dir / rel.parent_path();
    const fs::path ids = base / (stem + "_gtFine_labelIds.png"), train_ids = base / (stem + "_gtFine_labelTrainIds.png");
    const bool has_train_ids = labels != CityscapesLabels::Ids && fs::is_regular_file(train_ids, ec);
    if (has_train_ids || labels == CityscapesLabels::TrainIds)
      pairs.push_back({img.string(), train_ids.string(), LabelEncoding::TrainIds});
    else
      pairs.push_back({img.string(), ids.string(), LabelEncoding::Ids});
  }
  return pairs;
}

std::unique_ptr<SegmentationDataset> open_cityscapes(const std::string& root, const std::string& split,
                                                     CityscapesLabels labels) {
  std::vector<SegmentationPair> pairs = cityscapes_pairs(root, split, labels);
  std::vector<std::string> missing;
  std::error_code ec;
  for (const SegmentationPair& p : pairs)
    if (!fs::is_regular_file(p.label, ec)) missing.push_back(p.label);
  CSG_CHECK(missing.empty(), "Cityscapes: ", missing.size(), " of ", pairs.size(), " images have no ",
            (labels == CityscapesLabels::Ids        ? "_gtFine_labelIds.png"
             : labels == CityscapesLabels::TrainIds ? "_gtFine_labelTrainIds.png (make them with cityscapesScripts "
                                                      "createTrainIdLabelImgs.py, or read the labelIds)"
                                                    : "_gtFine_labelIds.png or _gtFine_labelTrainIds.png"),
            " label: missing ", first_few(missing), "; ", kCityscapesLayout);
  return std::make_unique<SegmentationDataset>("Cityscapes " + split + " (" + root + ")", std::move(pairs));
}

std::unique_ptr<SegmentationDataset> open_segmentation_list(const std::string& list_file, const std::string& root,
                                                            LabelEncoding default_encoding, std::string name) {
  std::error_code ec;
  CSG_CHECK(fs::is_directory(root, ec), list_file, ": data root '", root, "' is not a directory");
  io::refuse_directory(list_file, "a list file");
  std::ifstream f(list_file);
  CSG_CHECK(f.good(), list_file, ": cannot open list file (missing file or no permission)");
  std::vector<SegmentationPair> pairs;
  std::string line;
  for (int64_t line_no = 1; std::getline(f, line); ++line_no) {
    std::istringstream fields(line);
    std::vector<std::string> tok;
    for (std::string t; fields >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    CSG_CHECK(tok.size() == 2, list_file, ":", line_no, ": expected '<image path> <label path>', got ", tok.size(),
              " field(s): \"", line, "\"");
    LabelEncoding enc = default_encoding;
    if (ends_with(tok[1], "labelTrainIds.png"))
      enc = LabelEncoding::TrainIds;
    else if (ends_with(tok[1], "labelIds.png"))
      enc = LabelEncoding::Ids;
    pairs.push_back({(fs::path(root) / tok[0]).string(), (fs::path(root) / tok[1]).string(), enc});
  }
  CSG_CHECK(!f.bad(), list_file, ": read error");
  CSG_CHECK(!pairs.empty(), list_file, ": the list has no entries");
  if (name.empty()) name = list_file;
  return std::make_unique<SegmentationDataset>(name + " (" + list_file + ")", std::move(pairs));
}

}  // namespace csg::data
