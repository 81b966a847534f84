// csg/data/datasets.h — the data sets csg trains and evaluates on, in their published layouts.
//
//  * VisDA-17 classification: <root>/{train,validation}/image_list.txt, one
//    "<path relative to the split directory> <label>" per line, 12 classes.
//  * GTA5 segmentation: <root>/images/*.png with <root>/labels/<same name>.png, palette PNGs
//    whose pixel INDEX is the Cityscapes label id (mapped here to the 19 train ids).
//  * Cityscapes: <root>/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with
//    <root>/gtFine/<split>/<city>/<name>_gtFine_labelIds.png (ids) or _labelTrainIds.png.
//
// Construction reads lists / walks directories and reports layout problems at once with the
// path and the expected layout; pixels are decoded lazily by get(), which is thread-safe, so
// a missing or corrupt image is an error of that one sample (the loader can skip it).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "csg/image.h"

namespace csg::data {

using image::kIgnoreLabel;
using image::LabelMap;

// One decoded example. Classification samples have `label` >= 0 and an empty label_map;
// segmentation samples have label == -1 and a label_map of the image's size.
struct Sample {
  image::Image image;
  int label = -1;
  LabelMap label_map;
  std::string path;    // image file (for messages)
  int64_t index = -1;  // position in the data set
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Decodes example `index` (0 <= index < size()). Safe to call from several threads at once.
  // A missing or undecodable file throws csg::Error naming the file.
  virtual Sample get(int64_t index) const = 0;
  // The image path of example `index`, without decoding (for messages).
  virtual std::string path(int64_t index) const = 0;
  // "VisDA-17 train (/data/visda/train/image_list.txt)" — used in messages.
  virtual std::string name() const = 0;
  virtual int num_classes() const = 0;
};

// ---- where the data sets come from (src/data/dataset_guide.cpp) ----------------------------

enum class DatasetKind { Visda, Gta5, Cityscapes };
const char* dataset_name(DatasetKind kind);      // "VisDA-17", "GTA5", "Cityscapes"
const char* default_data_dir(DatasetKind kind);  // data/visda, data/gta5, data/cityscapes
// What the data set is, where its publishers distribute it, the layout csg reads under `root`,
// and what runs with no download (several lines).
std::string dataset_guide(DatasetKind kind, const std::string& root);
// A csg::Error saying that `root` is not a folder, with dataset_guide(), unless it is one.
void require_dataset_root(DatasetKind kind, const std::string& root);

// ---- classification lists ---------------------------------------------------------------

struct ListEntry {
  std::string path;  // absolute or relative to the working directory (already joined)
  int label = 0;
};

// Parses an image list: per non-blank line "<path> <integer label>" separated by whitespace
// (the label is the last field, so paths may contain spaces; CRLF endings accepted). Paths
// are joined to `base_dir`. Errors name file:line and quote the line: a missing label, a
// label that is not an integer, a label outside [0, num_classes). Image files are not
// checked here (that happens when they are loaded).
std::vector<ListEntry> read_image_list(const std::string& list_file, const std::string& base_dir, int num_classes);

// One line of such a list: "" and `entry` filled (path as written, not joined; an empty path
// for a blank line), or what is wrong with it (without file and line); `out_of_range` says
// whether that is an integer label outside [0, num_classes).
std::string parse_image_list_line(const std::string& line, int num_classes, ListEntry* entry,
                                  bool* out_of_range = nullptr);

// A labelled image list (the VisDA layout, or any list in the same format).
class ImageListDataset : public Dataset {
 public:
  ImageListDataset(std::string name, std::vector<ListEntry> entries, int num_classes,
                   int64_t max_pixels = image::kDefaultMaxPixels);
  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  Sample get(int64_t index) const override;
  std::string path(int64_t index) const override;
  std::string name() const override { return name_; }
  int num_classes() const override { return num_classes_; }
  const std::vector<ListEntry>& entries() const { return entries_; }
  void set_max_pixels(int64_t max_pixels) { max_pixels_ = max_pixels; }  // per image (csg/image.h)

 private:
  std::string name_;
  std::vector<ListEntry> entries_;
  int num_classes_;
  int64_t max_pixels_;
};

// VisDA-17 class names in label order (aeroplane = 0 ... truck = 11).
const std::array<const char*, 12>& visda_class_names();
constexpr int kVisdaNumClasses = 12;

// <root>/<split>/image_list.txt with paths relative to <root>/<split>. `split` is "train"
// (synthetic renderings) or "validation" (real photos); other names are accepted if the
// directory exists (e.g. "test" with a labelled list). Errors say which piece of the
// layout is missing and what the layout should be.
std::unique_ptr<ImageListDataset> open_visda(const std::string& root, const std::string& split);

// ---- segmentation -----------------------------------------------------------------------

// How the pixel values of a label PNG are to be read.
enum class LabelEncoding {
  Ids,       // Cityscapes label ids (GTA5 labels, *_gtFine_labelIds.png): mapped to train ids
  TrainIds,  // already train ids 0..18 or 255 (*_gtFine_labelTrainIds.png); other values are an error
};
const char* label_encoding_name(LabelEncoding e);

struct SegmentationPair {
  std::string image;
  std::string label;
  LabelEncoding encoding = LabelEncoding::Ids;
};

class SegmentationDataset : public Dataset {
 public:
  SegmentationDataset(std::string name, std::vector<SegmentationPair> pairs,
                      int64_t max_pixels = image::kDefaultMaxPixels);
  int64_t size() const override { return static_cast<int64_t>(pairs_.size()); }
  // Decodes the image (RGB) and the label PNG (palette indices or grey values, never
  // colours), maps ids to train ids, and checks that both have the same size.
  Sample get(int64_t index) const override;
  std::string path(int64_t index) const override;
  std::string name() const override { return name_; }
  int num_classes() const override;  // 19
  const std::vector<SegmentationPair>& pairs() const { return pairs_; }
  void set_max_pixels(int64_t max_pixels) { max_pixels_ = max_pixels; }  // per image and label map

 private:
  std::string name_;
  std::vector<SegmentationPair> pairs_;
  int64_t max_pixels_;
};

// GTA5 as published: every <root>/images/*.png paired with <root>/labels/<same name>.png,
// sorted by name; labels hold Cityscapes ids (palette indices). An image without a label is
// an error listing the first few.
std::unique_ptr<SegmentationDataset> open_gta5(const std::string& root);
// GTA5 restricted to a split list (src/data/gta5_list.cpp), e.g. the official 12,403-image train
// split the reference trains on: one image name per line, relative to <root>/images/ ("00001.png";
// a leading "images/" and anything after the first blank, such as the reference list's label
// column, are accepted and ignored; blank lines are skipped). Kept in list order. A missing list,
// an empty one, or a listed image absent from <root>/images/ or without <root>/labels/<name> is
// an error naming the list file, the line and the fix.
std::unique_ptr<SegmentationDataset> open_gta5(const std::string& root, const std::string& list_file);

enum class CityscapesLabels {
  Auto,      // per image: _gtFine_labelTrainIds.png if present, else _gtFine_labelIds.png
  Ids,       // _gtFine_labelIds.png (mapped to train ids)
  TrainIds,  // _gtFine_labelTrainIds.png (made by cityscapesScripts createTrainIdLabelImgs.py)
};

// Walks <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png and pairs each image with its
// gtFine label; sorted by path.
std::unique_ptr<SegmentationDataset> open_cityscapes(const std::string& root, const std::string& split,
                                                     CityscapesLabels labels = CityscapesLabels::Auto);

// A pair list as the reference ships them (cityscapes_val_fine.txt, gta5 lists): per line
// "<image relpath> <label relpath>" relative to `root`. The encoding of each label is taken
// from its name (…labelTrainIds.png → TrainIds, …labelIds.png → Ids), else `default_encoding`.
std::unique_ptr<SegmentationDataset> open_segmentation_list(const std::string& list_file, const std::string& root,
                                                            LabelEncoding default_encoding, std::string name = "");

}  // namespace csg::data
