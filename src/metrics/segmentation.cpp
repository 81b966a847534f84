// src/metrics/segmentation.cpp — ConfusionMatrix: the Cityscapes confusion matrix, per-class
// IoU, mIoU (NaN-mean) and pixel accuracy.
//
// add() is one pass over the N*H*W pixels. With CPU logits the arg-max over C is fused into
// that pass (C strided reads per pixel, no [N,H,W] prediction tensor); with CUDA logits the
// arg-max runs on the GPU and only the I64 predictions come back. Threads fill private
// histograms that are summed at the end, so no atomics are needed.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "csg/autograd.h"
#include "csg/data/labels.h"
#include "csg/metrics.h"
#include "csg/ops.h"
#include "kernels/reduce.h"
#include "src/core/dispatch.h"
#include "src/metrics/text_format.h"

namespace csg {

using namespace metrics_detail;

namespace {

constexpr int64_t kNoError = std::numeric_limits<int64_t>::max();

// Per-thread totals of one add().
struct PixelCounts {
  std::vector<int64_t> hist;  // [C*C]
  int64_t ignored = 0, unexpected = 0;
  int64_t first_bad = kNoError;  // first pixel whose prediction is outside [0, C)
};

// Runs `predict(pixel) -> class` over pixels [0, total) with per-thread histograms and
// returns their sum. `gt` holds the labels of the same pixels.
template <class Predict>
PixelCounts count_pixels(int64_t total, int64_t C, int64_t ignore_index, const int64_t* gt, Predict predict) {
  const int nthreads = total >= (int64_t(1) << 16) ? omp_get_max_threads() : 1;
  std::vector<PixelCounts> local(nthreads);
#pragma omp parallel num_threads(nthreads)
  {
    PixelCounts& mine = local[omp_get_thread_num()];
    mine.hist.assign(C * C, 0);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < total; ++i) {
      const int64_t p = predict(i);
      if (p < 0 || p >= C) {
        mine.first_bad = std::min(mine.first_bad, i);
        continue;
      }
      const int64_t g = gt[i];
      if (g >= 0 && g < C) {
        ++mine.hist[g * C + p];
      } else if (g == ignore_index) {
        ++mine.ignored;
      } else {
        ++mine.unexpected;
      }
    }
  }
  PixelCounts sum;
  sum.hist.assign(C * C, 0);
  for (const PixelCounts& t : local) {
    for (int64_t k = 0; k < C * C; ++k) sum.hist[k] += t.hist[k];
    sum.ignored += t.ignored;
    sum.unexpected += t.unexpected;
    sum.first_bad = std::min(sum.first_bad, t.first_bad);
  }
  return sum;
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int64_t num_classes, int64_t ignore_index, std::vector<std::string> class_names)
    : num_classes_(num_classes), ignore_index_(ignore_index) {
  CSG_CHECK(num_classes >= 1, "ConfusionMatrix: num_classes must be >= 1, got ", num_classes);
  CSG_CHECK(ignore_index < 0 || ignore_index >= num_classes, "ConfusionMatrix: ignore_index ", ignore_index,
            " is a class id (0..", num_classes - 1, "); it must lie outside the classes");
  names_ = class_names_or_default("ConfusionMatrix", num_classes, std::move(class_names));
  hist_.assign(num_classes * num_classes, 0);
}

ConfusionMatrix ConfusionMatrix::cityscapes() {
  const auto& n = data::cityscapes_class_names();
  return ConfusionMatrix(data::kCityscapesNumClasses, 255, std::vector<std::string>(n.begin(), n.end()));
}

void ConfusionMatrix::add(const Tensor& scores, const Tensor& labels) {
  const char* op = "ConfusionMatrix::add";
  check_defined(op, scores, "scores");
  check_defined(op, labels, "labels");
  const int64_t C = num_classes_;
  CSG_CHECK(labels.dtype() == DType::I64 && labels.dim() == 3, op, ": labels must be I64 [N,H,W], got ",
            labels.describe());
  const Shape& ls = labels.shape();
  const int64_t N = ls[0], H = ls[1], W = ls[2], HW = H * W, total = N * HW;

  Tensor pred_tensor, logits;  // exactly one is set
  if (scores.dtype() == DType::I64) {
    CSG_CHECK(scores.shape() == ls, op, ": predictions ", shape_str(scores.shape()), " and labels ", shape_str(ls),
              " differ in shape (expected predictions [N,H,W] or logits [N,", C, ",H,W])");
    pred_tensor = scores.detach().to(Device::CPU).contiguous();
  } else {
    check_float(op, scores, "scores");
    CSG_CHECK(scores.dim() == 4 && scores.size(1) == C, op, ": logits must be [N,", C, ",H,W], got ",
              scores.describe());
    CSG_CHECK(scores.size(0) == N && scores.size(2) == H && scores.size(3) == W, op, ": logits ",
              shape_str(scores.shape()), " do not match labels ", shape_str(ls));
    if (scores.is_cuda()) {
      NoGradGuard no_grad;
      pred_tensor = argmax(scores.detach(), 1).to(Device::CPU).contiguous();
    } else {
      logits = scores.detach().contiguous();
    }
  }
  const Tensor gt_tensor = labels.detach().to(Device::CPU).contiguous();
  const int64_t* gt = gt_tensor.data<int64_t>();

  PixelCounts counts;
  if (pred_tensor.defined()) {
    const int64_t* pred = pred_tensor.data<int64_t>();
    counts = count_pixels(total, C, ignore_index_, gt, [pred](int64_t i) { return pred[i]; });
  } else {
    dispatch_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* x = logits.data<T>();
      // Pixel i = (n, p): channel c of it lies at n*C*HW + c*HW + p. argmax's order (first
      // maximum, NaN first), so CPU and CUDA logits count alike.
      counts = count_pixels(total, C, ignore_index_, gt, [x, C, HW](int64_t i) {
        const T* px = x + (i / HW) * C * HW + (i % HW);
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (argmax_better(px[c * HW], c, px[best * HW], best)) best = c;
        return best;
      });
    });
  }
  if (counts.first_bad != kNoError) {
    const int64_t i = counts.first_bad;
    CSG_FAIL(op, ": prediction ", pred_tensor.data<int64_t>()[i], " at [", i / HW, ",", (i % HW) / W, ",", i % W,
             "] is outside [0, ", C, ")");
  }
  for (int64_t k = 0; k < C * C; ++k) hist_[k] += counts.hist[k];
  ignored_ += counts.ignored;
  unexpected_ += counts.unexpected;
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  CSG_CHECK(other.num_classes_ == num_classes_, "ConfusionMatrix::merge: ", other.num_classes_, " classes vs ",
            num_classes_);
  for (size_t k = 0; k < hist_.size(); ++k) hist_[k] += other.hist_[k];
  ignored_ += other.ignored_;
  unexpected_ += other.unexpected_;
}

std::vector<int64_t> ConfusionMatrix::count_vector() const {
  std::vector<int64_t> v = hist_;
  v.push_back(ignored_);
  v.push_back(unexpected_);
  return v;
}

void ConfusionMatrix::add_counts(const std::vector<int64_t>& v) {
  CSG_CHECK(v.size() == hist_.size() + 2, "ConfusionMatrix::add_counts: ", v.size(), " counts for ", num_classes_,
            " classes (expected ", hist_.size() + 2, ")");
  for (size_t k = 0; k < hist_.size(); ++k) hist_[k] += v[k];
  ignored_ += v[hist_.size()];
  unexpected_ += v[hist_.size() + 1];
}

void ConfusionMatrix::reset() {
  std::fill(hist_.begin(), hist_.end(), 0);
  ignored_ = unexpected_ = 0;
}

int64_t ConfusionMatrix::count(int64_t gt, int64_t pred) const {
  CSG_CHECK(gt >= 0 && gt < num_classes_ && pred >= 0 && pred < num_classes_, "ConfusionMatrix::count: (", gt, ", ",
            pred, ") is outside [0, ", num_classes_, ")");
  return hist_[gt * num_classes_ + pred];
}

int64_t ConfusionMatrix::gt_pixels(int64_t c) const {
  CSG_CHECK(c >= 0 && c < num_classes_, "ConfusionMatrix: class ", c, " is outside [0, ", num_classes_, ")");
  int64_t s = 0;
  for (int64_t p = 0; p < num_classes_; ++p) s += hist_[c * num_classes_ + p];
  return s;
}

int64_t ConfusionMatrix::pred_pixels(int64_t c) const {
  CSG_CHECK(c >= 0 && c < num_classes_, "ConfusionMatrix: class ", c, " is outside [0, ", num_classes_, ")");
  int64_t s = 0;
  for (int64_t g = 0; g < num_classes_; ++g) s += hist_[g * num_classes_ + c];
  return s;
}

int64_t ConfusionMatrix::labeled_pixels() const {
  int64_t s = 0;
  for (int64_t v : hist_) s += v;
  return s;
}

double ConfusionMatrix::class_iou(int64_t c) const {
  const int64_t inter = count(c, c);
  const int64_t uni = gt_pixels(c) + pred_pixels(c) - inter;
  if (uni == 0) return std::numeric_limits<double>::quiet_NaN();  // 0/0, as the reference
  return 100.0 * static_cast<double>(inter) / static_cast<double>(uni);
}

std::vector<double> ConfusionMatrix::class_ious() const {
  std::vector<double> iou(num_classes_);
  for (int64_t c = 0; c < num_classes_; ++c) iou[c] = class_iou(c);
  return iou;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int64_t n = 0;
  for (double v : class_ious())
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(n);
}

int64_t ConfusionMatrix::num_valid_classes() const {
  int64_t n = 0;
  for (double v : class_ious()) n += !std::isnan(v);
  return n;
}

double ConfusionMatrix::pixel_accuracy() const {
  const int64_t labeled = labeled_pixels();
  if (labeled == 0) return std::numeric_limits<double>::quiet_NaN();
  int64_t correct = 0;
  for (int64_t c = 0; c < num_classes_; ++c) correct += hist_[c * num_classes_ + c];
  return 100.0 * static_cast<double>(correct) / static_cast<double>(labeled);
}

std::string ConfusionMatrix::table() const {
  const std::string miou_label = "mIoU", acc_label = "pixel accuracy";
  int name_w = static_cast<int>(acc_label.size());
  for (const std::string& n : names_) name_w = std::max(name_w, static_cast<int>(n.size()));
  const int count_w = std::max(digits(labeled_pixels()), 11);

  std::ostringstream os;
  os << format("%-*s  %8s  %*s  %*s\n", name_w, "class", "IoU (%)", count_w, "gt pixels", count_w, "pred pixels");
  for (int64_t c = 0; c < num_classes_; ++c) {
    const double iou = class_iou(c);
    os << format("%-*s  %8s  %*lld  %*lld", name_w, names_[c].c_str(),
                 std::isnan(iou) ? "nan" : format("%.2f", iou).c_str(), count_w, (long long)gt_pixels(c), count_w,
                 (long long)pred_pixels(c));
    if (std::isnan(iou)) os << "  (absent from labels and predictions: skipped)";
    os << "\n";
  }
  os << std::string(name_w + 2 * count_w + 14, '-') << "\n";
  const double miou = mean_iou();
  os << format("%-*s  %8s  (NaN-mean over %lld of %lld classes)\n", name_w, miou_label.c_str(),
               std::isnan(miou) ? "nan" : format("%.2f", miou).c_str(), (long long)num_valid_classes(),
               (long long)num_classes_);
  const double acc = pixel_accuracy();
  os << format("%-*s  %8s  (%lld labelled pixels, %lld ignored)\n", name_w, acc_label.c_str(),
               std::isnan(acc) ? "nan" : format("%.2f", acc).c_str(), (long long)labeled_pixels(),
               (long long)ignored_);
  if (unexpected_ > 0)
    os << format("warning: %lld pixel(s) had labels outside [0, %lld) other than %lld and were skipped "
                 "(label ids instead of train ids?)\n",
                 (long long)unexpected_, (long long)num_classes_, (long long)ignore_index_);
  return os.str();
}

std::string ConfusionMatrix::csv_header() const {
  std::string h = "miou,pixel_acc";
  for (const std::string& n : names_) h += "," + column_name("iou_", n);
  return h;
}

std::string ConfusionMatrix::csv_row() const {
  std::string r = fixed4(mean_iou()) + "," + fixed4(pixel_accuracy());
  for (double v : class_ious()) r += "," + fixed4(v);
  return r;
}

}  // namespace csg
