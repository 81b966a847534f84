// src/metrics/classification.cpp — ClassAccuracy: per-class accuracy counts, the VisDA mean
// class accuracy and overall accuracy, with a terminal table and CSV rows.
#include <algorithm>
#include <sstream>

#include "csg/autograd.h"
#include "csg/data/datasets.h"
#include "csg/metrics.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"
#include "src/metrics/text_format.h"

namespace csg {

using namespace metrics_detail;

namespace {

// Host copy of a 1-D I64 tensor (any device, any strides).
std::vector<int64_t> host_i64(const Tensor& t) {
  Tensor c = t.detach().to(Device::CPU).contiguous();
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

}  // namespace

ClassAccuracy::ClassAccuracy(int64_t num_classes, std::vector<std::string> class_names) {
  CSG_CHECK(num_classes >= 1, "ClassAccuracy: num_classes must be >= 1, got ", num_classes);
  names_ = class_names_or_default("ClassAccuracy", num_classes, std::move(class_names));
  correct_.assign(num_classes, 0);
  total_.assign(num_classes, 0);
}

ClassAccuracy ClassAccuracy::visda() {
  const auto& n = data::visda_class_names();
  return ClassAccuracy(data::kVisdaNumClasses, std::vector<std::string>(n.begin(), n.end()));
}

void ClassAccuracy::add(const Tensor& scores, const Tensor& labels) {
  const char* op = "ClassAccuracy::add";
  check_defined(op, scores, "scores");
  check_defined(op, labels, "labels");
  const int64_t C = num_classes();
  CSG_CHECK(labels.dtype() == DType::I64 && labels.dim() == 1, op, ": labels must be I64 [N], got ",
            labels.describe());

  std::vector<int64_t> pred;
  if (scores.dtype() == DType::I64) {
    CSG_CHECK(scores.dim() == 1, op, ": predictions must be I64 [N], got ", scores.describe());
    pred = host_i64(scores);
  } else {
    check_float(op, scores, "scores");
    CSG_CHECK(scores.dim() == 2 && scores.size(1) == C, op, ": scores must be [N,", C, "] (one column per class), got ",
              scores.describe());
    NoGradGuard no_grad;
    pred = host_i64(argmax(scores.detach(), 1));  // on the scores' device; only [N] indices come back
  }
  CSG_CHECK(static_cast<int64_t>(pred.size()) == labels.size(0), op, ": scores ", shape_str(scores.shape()),
            " and labels ", shape_str(labels.shape()), " hold different numbers of samples");
  const std::vector<int64_t> gt = host_i64(labels);

  // Validate everything first so that a bad batch leaves the counts untouched.
  for (size_t i = 0; i < gt.size(); ++i) {
    CSG_CHECK(gt[i] >= 0 && gt[i] < C, op, ": label ", gt[i], " at position ", i, " is outside [0, ", C, ")");
    CSG_CHECK(pred[i] >= 0 && pred[i] < C, op, ": prediction ", pred[i], " at position ", i, " is outside [0, ", C,
              ")");
  }
  for (size_t i = 0; i < gt.size(); ++i) {
    ++total_[gt[i]];
    if (pred[i] == gt[i]) ++correct_[gt[i]];
  }
}

void ClassAccuracy::merge(const ClassAccuracy& other) {
  CSG_CHECK(other.num_classes() == num_classes(), "ClassAccuracy::merge: ", other.num_classes(), " classes vs ",
            num_classes());
  for (int64_t c = 0; c < num_classes(); ++c) {
    correct_[c] += other.correct_[c];
    total_[c] += other.total_[c];
  }
}

std::vector<int64_t> ClassAccuracy::count_vector() const {
  std::vector<int64_t> v = correct_;
  v.insert(v.end(), total_.begin(), total_.end());
  return v;
}

void ClassAccuracy::add_counts(const std::vector<int64_t>& v) {
  const size_t n = correct_.size();
  CSG_CHECK(v.size() == 2 * n, "ClassAccuracy::add_counts: ", v.size(), " counts for ", n, " classes (expected ",
            2 * n, ")");
  for (size_t c = 0; c < n; ++c) {
    correct_[c] += v[c];
    total_[c] += v[n + c];
  }
}

void ClassAccuracy::reset() {
  std::fill(correct_.begin(), correct_.end(), 0);
  std::fill(total_.begin(), total_.end(), 0);
}

int64_t ClassAccuracy::correct(int64_t c) const {
  CSG_CHECK(c >= 0 && c < num_classes(), "ClassAccuracy: class ", c, " is outside [0, ", num_classes(), ")");
  return correct_[c];
}

int64_t ClassAccuracy::total(int64_t c) const {
  CSG_CHECK(c >= 0 && c < num_classes(), "ClassAccuracy: class ", c, " is outside [0, ", num_classes(), ")");
  return total_[c];
}

int64_t ClassAccuracy::num_samples() const {
  int64_t n = 0;
  for (int64_t t : total_) n += t;
  return n;
}

int64_t ClassAccuracy::num_correct() const {
  int64_t n = 0;
  for (int64_t t : correct_) n += t;
  return n;
}

double ClassAccuracy::class_accuracy(int64_t c) const {
  const int64_t t = total(c);
  return t == 0 ? 0.0 : 100.0 * static_cast<double>(correct_[c]) / static_cast<double>(t);
}

std::vector<double> ClassAccuracy::class_accuracies() const {
  std::vector<double> acc(num_classes());
  for (int64_t c = 0; c < num_classes(); ++c) acc[c] = class_accuracy(c);
  return acc;
}

double ClassAccuracy::mean_accuracy() const {
  double sum = 0;
  for (int64_t c = 0; c < num_classes(); ++c) sum += class_accuracy(c);
  return sum / static_cast<double>(num_classes());
}

double ClassAccuracy::overall_accuracy() const {
  const int64_t n = num_samples();
  return n == 0 ? 0.0 : 100.0 * static_cast<double>(num_correct()) / static_cast<double>(n);
}

std::string ClassAccuracy::table() const {
  const std::string mean_label = "mean class accuracy", overall_label = "overall accuracy";
  int name_w = static_cast<int>(std::max(mean_label.size(), overall_label.size()));
  for (const std::string& n : names_) name_w = std::max(name_w, static_cast<int>(n.size()));
  const int count_w = std::max(digits(num_samples()), 5);
  const int pair_w = 2 * count_w + 3;  // "correct / total"

  std::ostringstream os;
  os << format("%-*s  %*s  %8s\n", name_w, "class", pair_w, "correct / total", "acc (%)");
  int64_t empty = 0;
  for (int64_t c = 0; c < num_classes(); ++c) {
    os << format("%-*s  %*lld / %-*lld  %8.2f", name_w, names_[c].c_str(), count_w, (long long)correct_[c], count_w,
                 (long long)total_[c], class_accuracy(c));
    if (total_[c] == 0) {
      os << "  (no samples: counts as 0)";
      ++empty;
    }
    os << "\n";
  }
  os << std::string(name_w + pair_w + 12, '-') << "\n";
  os << format("%-*s  %*s  %8.2f  (mean over %lld classes", name_w, mean_label.c_str(), pair_w, "",
               mean_accuracy(), (long long)num_classes());
  if (empty > 0) os << format(", %lld without samples", (long long)empty);
  os << ")\n";
  os << format("%-*s  %*lld / %-*lld  %8.2f\n", name_w, overall_label.c_str(), count_w, (long long)num_correct(),
               count_w, (long long)num_samples(), overall_accuracy());
  return os.str();
}

std::string ClassAccuracy::csv_header() const {
  std::string h = "mean_class_acc,overall_acc";
  for (const std::string& n : names_) h += "," + column_name("acc_", n);
  return h;
}

std::string ClassAccuracy::csv_row() const {
  std::string r = fixed4(mean_accuracy()) + "," + fixed4(overall_accuracy());
  for (int64_t c = 0; c < num_classes(); ++c) r += "," + fixed4(class_accuracy(c));
  return r;
}

}  // namespace csg
