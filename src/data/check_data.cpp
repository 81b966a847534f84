// src/data/check_data.cpp — see csg/data/check.h. Every sample is checked on its own (OpenMP
// threads, a chunk at a time, the progress bar between chunks); the results are gathered in
// sample order, so the report is the same for any thread count.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "csg/data/check.h"
#include "csg/data/label_png.h"
#include "csg/data/labels.h"
#include "csg/progress.h"
#include "src/data/pair_discovery.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

// Sets this small are checked in well under a second: no progress bar.
constexpr int64_t kQuietBelow = 5000;

// What one sample's files gave.
struct SampleResult {
  std::vector<DataProblem> problems;
  std::array<int64_t, kCityscapesNumClasses> pixels{};  // segmentation, decoded: pixels of each class
};

// A csg::Error's text without the source location it ends with.
std::string message_of(const Error& e) {
  const std::string what = e.what();
  const size_t at = what.rfind(" (");
  return at == std::string::npos ? what : what.substr(0, at);
}

// The image's size, or a problem (missing, unreadable) and false.
bool read_size(const std::string& path, bool decode, image::ImageSize* size, std::vector<DataProblem>& problems) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    problems.push_back({ProblemKind::Missing, path});
    return false;
  }
  try {
    if (decode) {
      const image::Image im = image::load(path);
      *size = {im.width, im.height};
    } else {
      *size = image::read_image_size(path);
    }
    return true;
  } catch (const Error& e) {
    problems.push_back({ProblemKind::Unreadable, message_of(e)});
    return false;
  }
}

// Checks `check(i)` for i in [0, n) on every thread, `chunk` at a time, with a progress bar.
template <class Check>
std::vector<SampleResult> check_samples(int64_t n, const std::string& label, bool quiet, Check check) {
  std::vector<SampleResult> results(static_cast<size_t>(n));
  ProgressBar bar(label, n, quiet);
  const int64_t chunk = 512;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t end = std::min(n, begin + chunk);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = begin; i < end; ++i) results[static_cast<size_t>(i)] = check(i);
    bar.update(end);
  }
  return results;
}

void gather(SplitCheck& split, std::vector<SampleResult>& results) {
  for (SampleResult& r : results) {
    for (DataProblem& p : r.problems) split.problems.push_back(std::move(p));
    if (split.per_class_are_pixels)
      for (size_t c = 0; c < r.pixels.size(); ++c) split.per_class[c] += r.pixels[c];
  }
}

// One segmentation pair: both files there and readable, the same size; decoded, the label
// values in range and the pixels of each class counted.
SampleResult check_pair(const SegmentationPair& p, bool decode) {
  SampleResult r;
  image::ImageSize im, lab;
  const bool image_ok = read_size(p.image, decode, &im, r.problems);
  bool label_ok = false;
  std::error_code ec;
  if (!fs::exists(p.label, ec)) {
    r.problems.push_back({ProblemKind::Missing, p.label + " (the label of " + p.image + ")"});
  } else {
    try {
      if (decode) {
        LabelMap m = read_label_png(p.label);
        lab = {m.width, m.height};
        // Ids: Cityscapes label ids 0..33 (255 unlabelled); train ids: 0..18 or 255.
        const int top = p.encoding == LabelEncoding::Ids ? 33 : kCityscapesNumClasses - 1;
        int64_t bad = 0;
        int bad_value = 0;
        for (uint8_t v : m.values)
          if (v > top && v != kIgnoreLabel) ++bad, bad_value = v;
        if (bad > 0)
          r.problems.push_back({ProblemKind::LabelOutOfRange,
                                detail::cat(p.label, ": ", bad, " pixels hold values such as ", bad_value,
                                            ", which are no ", label_encoding_name(p.encoding), " (0..", top,
                                            " or 255)")});
        if (p.encoding == LabelEncoding::Ids) apply_label_table(m, cityscapes_id_to_train_id());
        for (uint8_t v : m.values)
          if (v < kCityscapesNumClasses) ++r.pixels[v];
      } else {
        lab = image::read_image_size(p.label);
      }
      label_ok = true;
    } catch (const Error& e) {
      r.problems.push_back({ProblemKind::Unreadable, message_of(e)});
    }
  }
  if (image_ok && label_ok && (im.width != lab.width || im.height != lab.height))
    r.problems.push_back({ProblemKind::SizeMismatch, detail::cat(p.image, " is ", im.width, "x", im.height,
                                                                 " but its label ", p.label, " is ", lab.width, "x",
                                                                 lab.height)});
  return r;
}

SplitCheck check_segmentation(const std::string& name, const std::string& source,
                              const std::vector<SegmentationPair>& pairs, const CheckOptions& opt) {
  SplitCheck split;
  split.name = name;
  split.source = source;
  split.samples = static_cast<int64_t>(pairs.size());
  const auto& names = cityscapes_class_names();
  split.class_names.assign(names.begin(), names.end());
  split.per_class_are_pixels = opt.decode;
  if (opt.decode) split.per_class.assign(names.size(), 0);
  std::vector<SampleResult> results = check_samples(
      split.samples, "checking " + name, opt.quiet || split.samples < kQuietBelow,
      [&](int64_t i) { return check_pair(pairs[static_cast<size_t>(i)], opt.decode); });
  gather(split, results);
  return split;
}

DataCheckReport finish(DataCheckReport report, std::chrono::steady_clock::time_point start) {
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

const char* problem_kind_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::BadListLine: return "bad list line";
    case ProblemKind::LabelOutOfRange: return "label out of range";
    case ProblemKind::Missing: return "missing file";
    case ProblemKind::Unreadable: return "unreadable file";
    case ProblemKind::SizeMismatch: return "label size differs from its image";
  }
  return "?";
}

int64_t DataCheckReport::samples() const {
  int64_t n = 0;
  for (const SplitCheck& s : splits) n += s.samples;
  return n;
}

int64_t DataCheckReport::problems() const {
  int64_t n = 0;
  for (const SplitCheck& s : splits) n += static_cast<int64_t>(s.problems.size());
  return n;
}

int64_t DataCheckReport::problems_of(ProblemKind kind) const {
  int64_t n = 0;
  for (const SplitCheck& s : splits)
    for (const DataProblem& p : s.problems) n += p.kind == kind;
  return n;
}

std::string DataCheckReport::text(size_t listed) const {
  std::string t = data_set + ": " +
                  (decoded ? "every image and label decoded\n"
                           : "lists and image headers read (--decode decodes every file)\n");
  for (const SplitCheck& s : splits) {
    t += "  " + s.name + " (" + s.source + "): " + format_count(s.samples) + " images\n";
    if (!s.per_class.empty()) {
      int64_t total = 0;
      for (int64_t c : s.per_class) total += c;
      std::string line = s.per_class_are_pixels ? "    labelled pixels per class:" : "    images per class:";
      for (size_t c = 0; c < s.per_class.size(); ++c) {
        char item[96];
        if (s.per_class_are_pixels)
          std::snprintf(item, sizeof item, " %s %.1f%%", s.class_names[c].c_str(),
                        total > 0 ? 100.0 * s.per_class[c] / total : 0.0);
        else
          std::snprintf(item, sizeof item, " %s %s", s.class_names[c].c_str(), format_count(s.per_class[c]).c_str());
        if (line.size() + std::strlen(item) + 1 > 110) {
          t += line + "\n";
          line = "     ";
        }
        line += item + std::string(c + 1 < s.per_class.size() ? "," : "");
      }
      t += line + "\n";
    } else if (!s.class_names.empty()) {
      t += "    (the pixels of each class are counted with --decode)\n";
    }
    if (s.problems.empty()) continue;
    t += "    " + format_count(static_cast<int64_t>(s.problems.size())) + " problem" +
         (s.problems.size() == 1 ? "" : "s") + ":\n";
    for (size_t i = 0; i < s.problems.size() && i < listed; ++i)
      t += "      " + std::string(problem_kind_name(s.problems[i].kind)) + ": " + s.problems[i].message + "\n";
    if (s.problems.size() > listed) t += "      ... and " + std::to_string(s.problems.size() - listed) + " more\n";
  }
  std::string kinds;
  for (ProblemKind k : {ProblemKind::BadListLine, ProblemKind::LabelOutOfRange, ProblemKind::Missing,
                        ProblemKind::Unreadable, ProblemKind::SizeMismatch})
    if (const int64_t n = problems_of(k)) kinds += (kinds.empty() ? ": " : ", ") + format_count(n) + " " + problem_kind_name(k);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, " (%.1f s)", this->seconds);
  if (problems() == 0) return t + "no problems in " + format_count(samples()) + " samples" + seconds + "\n";
  return t + format_count(problems()) + " problem" + (problems() == 1 ? "" : "s") + " in " +
         format_count(samples()) + " samples" + kinds + seconds + "\n";
}

DataCheckReport check_visda(const std::string& root, const std::vector<std::string>& splits, const CheckOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  require_dataset_root(DatasetKind::Visda, root);
  DataCheckReport report;
  report.data_set = "VisDA-17 (" + root + ")";
  report.decoded = opt.decode;
  for (const std::string& name : splits) {
    SplitCheck split;
    const fs::path dir = fs::path(root) / name, list = dir / "image_list.txt";
    split.name = name;
    split.source = list.string();
    const auto& classes = visda_class_names();
    split.class_names.assign(classes.begin(), classes.end());
    split.per_class.assign(classes.size(), 0);
    std::ifstream in(list);
    std::error_code ec;
    if (!fs::is_regular_file(list, ec) || !in.good()) {
      split.problems.push_back({ProblemKind::Missing, list.string() + " (the list of the " + name + " split)"});
      report.splits.push_back(std::move(split));
      continue;
    }
    std::vector<ListEntry> entries;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      ListEntry e;
      bool out_of_range = false;
      const std::string error = parse_image_list_line(line, kVisdaNumClasses, &e, &out_of_range);
      if (!error.empty())
        split.problems.push_back({out_of_range ? ProblemKind::LabelOutOfRange : ProblemKind::BadListLine,
                                  detail::cat(list.string(), ":", number, ": ", error)});
      else if (!e.path.empty())
        entries.push_back({(dir / e.path).string(), e.label});
    }
    split.samples = static_cast<int64_t>(entries.size());
    for (const ListEntry& e : entries) ++split.per_class[static_cast<size_t>(e.label)];
    std::vector<SampleResult> results =
        check_samples(split.samples, "checking VisDA-17 " + name, opt.quiet || split.samples < kQuietBelow, [&](int64_t i) {
          SampleResult r;
          image::ImageSize size;
          read_size(entries[static_cast<size_t>(i)].path, opt.decode, &size, r.problems);
          return r;
        });
    gather(split, results);
    report.splits.push_back(std::move(split));
  }
  return finish(std::move(report), start);
}

DataCheckReport check_gta5(const std::string& root, const std::string& train_list, const CheckOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  DataCheckReport report;
  report.data_set = "GTA5 (" + root + ")";
  report.decoded = opt.decode;
  const std::vector<SegmentationPair> pairs =
      train_list.empty() ? gta5_pairs(root) : gta5_list_pairs(root, train_list).pairs;
  report.splits.push_back(check_segmentation(train_list.empty() ? "every image" : "the listed images",
                                             train_list.empty() ? (root + "/images") : train_list, pairs, opt));
  return finish(std::move(report), start);
}

DataCheckReport check_cityscapes(const std::string& root, const std::string& split, const CheckOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  DataCheckReport report;
  report.data_set = "Cityscapes (" + root + ")";
  report.decoded = opt.decode;
  report.splits.push_back(check_segmentation(split, root + "/leftImg8bit/" + split, cityscapes_pairs(root, split), opt));
  return finish(std::move(report), start);
}

}  // namespace csg::data
