// src/data/visda.cpp — labelled image lists and the VisDA-17 classification layout.
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "csg/data/datasets.h"
#include "src/io/file_checks.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

const char* const kWhitespace = " \t\r\n\v\f";

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kWhitespace) - b + 1);
}

const char* const kVisdaLayout =
    "the VisDA-17 layout is <root>/train/image_list.txt and <root>/validation/image_list.txt, each line "
    "'<image path relative to the split directory> <label 0..11>'";

}  // namespace

std::string parse_image_list_line(const std::string& raw, int num_classes, ListEntry* entry, bool* out_of_range) {
  const std::string line = trim(raw);
  if (line.empty()) return "";
  // The label is the last whitespace-separated field; everything before it is the path.
  const size_t sep = line.find_last_of(kWhitespace);
  if (sep == std::string::npos) return "expected '<image path> <integer label>', got a single field: \"" + line + "\"";
  const std::string label_text = line.substr(sep + 1);
  errno = 0;
  char* end = nullptr;
  const long label = std::strtol(label_text.c_str(), &end, 10);
  if (*end != '\0' || errno != 0)
    return "the label '" + label_text + "' is not an integer in line \"" + line + "\"";
  if (out_of_range) *out_of_range = label < 0 || label >= num_classes;
  if (label < 0 || label >= num_classes)
    return "label " + label_text + " is outside [0," + std::to_string(num_classes) + ") in line \"" + line + "\"";
  entry->path = trim(line.substr(0, sep));
  entry->label = static_cast<int>(label);
  return "";
}

std::vector<ListEntry> read_image_list(const std::string& list_file, const std::string& base_dir, int num_classes) {
  CSG_CHECK(num_classes > 0, "read_image_list: num_classes must be positive, got ", num_classes);
  io::refuse_directory(list_file, "an image list file");
  std::ifstream f(list_file);
  CSG_CHECK(f.good(), list_file, ": cannot open image list (missing file or no permission)");
  std::vector<ListEntry> entries;
  std::string raw;
  for (int64_t line_no = 1; std::getline(f, raw); ++line_no) {
    ListEntry e;
    const std::string error = parse_image_list_line(raw, num_classes, &e);
    CSG_CHECK(error.empty(), list_file, ":", line_no, ": ", error);
    if (e.path.empty()) continue;  // blank line
    entries.push_back({(fs::path(base_dir) / e.path).string(), e.label});
  }
  CSG_CHECK(!f.bad(), list_file, ": read error");
  CSG_CHECK(!entries.empty(), list_file, ": the image list has no entries");
  return entries;
}

ImageListDataset::ImageListDataset(std::string name, std::vector<ListEntry> entries, int num_classes,
                                   int64_t max_pixels)
    : name_(std::move(name)), entries_(std::move(entries)), num_classes_(num_classes), max_pixels_(max_pixels) {}

Sample ImageListDataset::get(int64_t index) const {
  CSG_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0,", size(), ")");
  const ListEntry& e = entries_[static_cast<size_t>(index)];
  Sample s;
  s.image = image::load(e.path, max_pixels_);
  s.label = e.label;
  s.path = e.path;
  s.index = index;
  return s;
}

std::string ImageListDataset::path(int64_t index) const {
  CSG_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0,", size(), ")");
  return entries_[static_cast<size_t>(index)].path;
}

const std::array<const char*, 12>& visda_class_names() {
  static const std::array<const char*, 12> names = {"aeroplane", "bicycle", "bus",   "car",        "horse", "knife",
                                                    "motorcycle", "person", "plant", "skateboard", "train", "truck"};
  return names;
}

std::unique_ptr<ImageListDataset> open_visda(const std::string& root, const std::string& split) {
  require_dataset_root(DatasetKind::Visda, root);
  std::error_code ec;
  const fs::path split_dir = fs::path(root) / split;
  CSG_CHECK(fs::is_directory(split_dir, ec), "VisDA-17: split directory '", split_dir.string(),
            "' does not exist; ", kVisdaLayout);
  const fs::path list = split_dir / "image_list.txt";
  CSG_CHECK(fs::is_regular_file(list, ec), "VisDA-17: '", list.string(), "' does not exist; ", kVisdaLayout);
  auto entries = read_image_list(list.string(), split_dir.string(), kVisdaNumClasses);
  return std::make_unique<ImageListDataset>("VisDA-17 " + split + " (" + list.string() + ")", std::move(entries),
                                            kVisdaNumClasses);
}

}  // namespace csg::data
