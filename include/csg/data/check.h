// csg/data/check.h — a data set checked before a long run (`csg check-data`, and the pass
// `csg train` makes before its first step): counts per class and split, files missing or
// unreadable, labels out of range, label maps whose size differs from their image.
//
// The fast pass reads the lists and every image's header (a PNG's IHDR, a JPEG's frame header);
// `decode` decodes every image and label map, which also finds files cut short after their header,
// label values out of range and, for segmentation, the pixels of each class.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/data/datasets.h"

namespace csg::data {

struct CheckOptions {
  bool decode = false;  // full decodes instead of headers
  bool quiet = false;   // no progress bar
};

enum class ProblemKind {
  BadListLine,      // a list line that is not "<path> <integer label>"
  LabelOutOfRange,  // a class label outside [0, classes), or a label map value that is no class
  Missing,          // a file the list or layout names that does not exist
  Unreadable,       // a file that exists but does not read as an image (or label map)
  SizeMismatch,     // a label map whose size differs from its image's
};
const char* problem_kind_name(ProblemKind kind);  // "missing file", ...

struct DataProblem {
  ProblemKind kind;
  std::string message;  // names the file (and list line) and what is wrong
};

struct SplitCheck {
  std::string name;    // "train", "val", "every image"
  std::string source;  // what names its samples: "data/visda/train/image_list.txt", a folder
  int64_t samples = 0;
  std::vector<std::string> class_names;
  // Classification: images per class. Segmentation: labelled pixels per class (decode only;
  // empty after the fast pass, which does not read label pixels).
  std::vector<int64_t> per_class;
  bool per_class_are_pixels = false;
  std::vector<DataProblem> problems;
};

struct DataCheckReport {
  std::string data_set;  // "VisDA-17 (data/visda)"
  bool decoded = false;
  double seconds = 0;
  std::vector<SplitCheck> splits;

  int64_t samples() const;
  int64_t problems() const;
  int64_t problems_of(ProblemKind kind) const;
  // The report: each split's counts and problems (at most `listed` of each split named), then
  // a closing line with the totals by kind.
  std::string text(size_t listed = 20) const;
};

// VisDA-17: the lists of `splits` (train, validation) under `root`.
DataCheckReport check_visda(const std::string& root, const std::vector<std::string>& splits,
                            const CheckOptions& opt = {});
// GTA5 (every image, or those `train_list` names) and Cityscapes (`split`).
DataCheckReport check_gta5(const std::string& root, const std::string& train_list, const CheckOptions& opt = {});
DataCheckReport check_cityscapes(const std::string& root, const std::string& split, const CheckOptions& opt = {});

}  // namespace csg::data
