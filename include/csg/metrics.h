// csg/metrics.h — the evaluation numbers CSG reports, computed on the CPU in double.
//
//  * ClassAccuracy      VisDA-17: per-class accuracy and their arithmetic mean (the reported
//                       "mean class accuracy"), plus overall accuracy.
//  * ConfusionMatrix    GTA5 -> Cityscapes: confusion matrix over labelled pixels, per-class
//                       IoU, mIoU (NaN-mean) and pixel accuracy.
//  * hyperspherical_energy  E_s of a set of feature vectors (paper Table 1 / Fig. 2), as the
//                       MHE code the paper used computes it.
//
// Inputs may live on the GPU: arg-maxes over logits run where the logits are and only the
// I64 predictions are copied back. Every rate is returned in PERCENT (0..100), as the paper
// and the reference scripts print them; energies are plain pair means.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg {

// ---- classification (src/metrics/classification.cpp) ------------------------------------
//
// Counts per class c: total_c = #(gt = c), correct_c = #(pred = c and gt = c), accumulated
// over every add() (the reference's per-batch accuracies weighted by per-class gt counts come
// to the same thing). acc_c = 100 * correct_c / total_c, and 0 for a class with no ground
// truth (as the reference; such classes are flagged by has_samples() and in table()).
class ClassAccuracy {
 public:
  // `class_names`, when given, must hold num_classes names; otherwise "class <c>" is used.
  explicit ClassAccuracy(int64_t num_classes, std::vector<std::string> class_names = {});
  // The 12 VisDA-17 classes with their names (aeroplane ... truck).
  static ClassAccuracy visda();

  // `scores` is either logits/probabilities [N,C] (float, any device; prediction = arg-max,
  // first maximum on ties) or predicted classes [N] (I64). `labels` [N] I64, each in [0, C).
  // A label or prediction out of range throws csg::Error naming the value and its position,
  // and leaves the counts unchanged.
  void add(const Tensor& scores, const Tensor& labels);
  // Adds another accumulator's counts (same number of classes), e.g. from another shard.
  void merge(const ClassAccuracy& other);
  void reset();
  // Every count as one vector (correct per class, then total per class), and its inverse that
  // adds such a vector: counts summed over processes (data-parallel evaluation) come back here.
  std::vector<int64_t> count_vector() const;
  void add_counts(const std::vector<int64_t>& counts);

  int64_t num_classes() const { return static_cast<int64_t>(correct_.size()); }
  const std::vector<std::string>& class_names() const { return names_; }
  int64_t correct(int64_t c) const;
  int64_t total(int64_t c) const;
  bool has_samples(int64_t c) const { return total(c) > 0; }
  int64_t num_samples() const;  // all labels seen
  int64_t num_correct() const;  // all correct predictions

  double class_accuracy(int64_t c) const;    // percent; 0 when the class has no samples
  std::vector<double> class_accuracies() const;
  // The VisDA metric: arithmetic mean of class_accuracy over ALL num_classes classes
  // (a class without samples contributes 0, as in the reference). Percent.
  double mean_accuracy() const;
  // 100 * correct / samples over all samples (0 before any add). Differs from the mean
  // whenever classes have different sizes.
  double overall_accuracy() const;

  // A terminal table: one row per class (name, correct/total, accuracy), classes without
  // samples marked, then the mean class accuracy and the overall accuracy.
  std::string table() const;
  // "mean_class_acc,overall_acc,acc_<name>,..." and the matching values (4 decimals).
  std::string csv_header() const;
  std::string csv_row() const;

 private:
  std::vector<std::string> names_;
  std::vector<int64_t> correct_, total_;
};

// ---- segmentation (src/metrics/segmentation.cpp) -----------------------------------------
//
// hist[gt][pred] over the pixels with 0 <= gt < C, accumulated over every add(). Pixels
// whose label equals ignore_index are skipped; so are other labels outside [0, C) (as the
// reference does), but those are counted separately (unexpected_label_pixels()) because
// they usually mean label ids were passed where train ids were expected.
// IoU_c = hist[c][c] / (row_c + col_c - hist[c][c]); a class absent from both the ground
// truth and the predictions has IoU NaN and is skipped by the mean (NaN-mean, as the
// reference's np.nanmean).
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes, int64_t ignore_index = 255,
                           std::vector<std::string> class_names = {});
  // The 19 Cityscapes train-id classes with their names, ignore 255.
  static ConfusionMatrix cityscapes();

  // `scores` is logits [N,C,H,W] (float, any device; prediction = arg-max over C, first
  // maximum on ties; monotone transforms such as the reference's exp() do not change it) or
  // predictions [N,H,W] (I64, each in [0, C)). `labels` [N,H,W] I64. Shapes must agree.
  // A prediction out of range throws csg::Error (value and position) and changes nothing.
  void add(const Tensor& scores, const Tensor& labels);
  void merge(const ConfusionMatrix& other);
  void reset();
  // Every count as one vector (hist row-major, then ignored and unexpected pixels), and its
  // inverse that adds such a vector (data-parallel evaluation sums them over processes).
  std::vector<int64_t> count_vector() const;
  void add_counts(const std::vector<int64_t>& counts);

  int64_t num_classes() const { return num_classes_; }
  int64_t ignore_index() const { return ignore_index_; }
  const std::vector<std::string>& class_names() const { return names_; }
  int64_t count(int64_t gt, int64_t pred) const;     // hist[gt][pred]
  const std::vector<int64_t>& counts() const { return hist_; }  // row-major [gt][pred]
  int64_t gt_pixels(int64_t c) const;    // row sum
  int64_t pred_pixels(int64_t c) const;  // column sum (over labelled pixels only)
  int64_t labeled_pixels() const;        // pixels counted in hist
  int64_t ignored_pixels() const { return ignored_; }
  int64_t unexpected_label_pixels() const { return unexpected_; }

  double class_iou(int64_t c) const;  // percent; NaN when absent from gt and predictions
  std::vector<double> class_ious() const;
  double mean_iou() const;            // percent; NaN-mean over the classes (NaN if all are)
  int64_t num_valid_classes() const;  // classes with a non-NaN IoU
  double pixel_accuracy() const;      // percent of labelled pixels predicted right (NaN if none)

  // One row per class (name, IoU, gt and predicted pixel counts; absent classes marked), then
  // mIoU and pixel accuracy, and a warning line when unexpected labels were seen.
  std::string table() const;
  // "miou,pixel_acc,iou_<name>,..." and the matching values (4 decimals, "nan" for absent).
  std::string csv_header() const;
  std::string csv_row() const;

 private:
  int64_t num_classes_;
  int64_t ignore_index_;
  std::vector<std::string> names_;
  std::vector<int64_t> hist_;
  int64_t ignored_ = 0, unexpected_ = 0;
};

// ---- hyperspherical energy (src/metrics/hyperspherical_energy.cpp) -----------------------
//
// For feature vectors v_1..v_N (the ROWS of `features` [N,D]), exactly as the MHE code
// (wy1iu/MHE, _add_thomson_constraint) that the paper's authors used:
//   n_i = sqrt(sum_k v_ik^2 + 1e-4)            (epsilon inside the square root)
//   cos_ij = <v_i, v_j> / (n_i n_j),  d2_ij = 2 - 2 cos_ij   (squared chord distance)
//   s = 0: -log(d2_ij)       s = 1: d2_ij^(-1/2)       s = 2: d2_ij^(-1)
//   other s > 0: d2_ij^(-s/2) (the paper's ||v_i - v_j||^(-s))
//   E_s = sum over i < j / (N(N-1)/2)          (mean over unordered pairs)
// Note the s = 0 term is -log(d2) = 2 log(1/||v_i - v_j||), twice the textbook e_0, as MHE.
// MHE adds 1 on the diagonal before the log/power; the diagonal is never summed, so that
// only kept its dense matrix finite and has no effect on the value.
//
// Rounding: mathematically d2 > 0 (the 1e-4 keeps |cos| < 1), but for (near-)duplicate
// vectors with large norms the computed d2 can come out <= 0. It is clamped at 0, so such a
// pair contributes +inf (the energy of coincident points); the reference would give NaN
// (log/pow of a negative number) — or +inf for an exact 0 — there. Such pairs are counted
// in `clamped_pairs`.
//
// Cost O(N^2 D): the Gram matrix is computed by GEMM one block of rows at a time (only the
// blocks on or above the diagonal), so memory stays bounded (~block_elements values) and
// N = 10,000, D = 2,048 takes seconds on the CPU. Sums are accumulated in double.
struct EnergyOptions {
  // Precision of the Gram matrix. F64 (default): on the CPU, the features converted to
  // double. F32: in float on the features' device (CUDA features stay on the GPU and only
  // Gram blocks come back); faster, with cos errors around 1e-7.
  DType gram_dtype = DType::F64;
  int64_t block_elements = int64_t(1) << 23;  // Gram block size bound (rows * N)
};

struct HypersphericalEnergies {
  double e0 = 0, e1 = 0, e2 = 0;  // E_s for s = 0, 1, 2
  int64_t num_pairs = 0;          // N(N-1)/2
  int64_t clamped_pairs = 0;      // pairs whose computed d2 was <= 0 (see above)
};

// E_0, E_1 and E_2 in one pass over the pairs. features [N,D] float (N >= 2, D >= 1), any
// device; must be finite. Not differentiable (a measurement).
HypersphericalEnergies hyperspherical_energies(const Tensor& features, const EnergyOptions& opt = {});
// E_s for one power s >= 0.
double hyperspherical_energy(const Tensor& features, double s, const EnergyOptions& opt = {});

// ---- paired comparison over seeds (src/metrics/paired_difference.cpp) --------------------
//
// Two methods run with the same seeds: d_i = treatment_i - control_i per seed. mean and std
// (sample std, n-1) of d; the 95% confidence interval of the mean difference is
// mean +- t_{0.975, n-1} * std / sqrt(n) (Student t, the seeds taken as independent draws);
// wins = #(d_i > 0), ties = #(d_i == 0). With one seed, std and the interval are NaN.
struct PairedDifference {
  std::vector<double> differences;  // d_i, in seed order
  double mean = 0, std = 0;
  double t_quantile = 0;            // t_{0.975, n-1} (NaN for n = 1)
  double ci_low = 0, ci_high = 0;   // 95% interval of the mean difference
  int wins = 0, ties = 0;
  int n() const { return static_cast<int>(differences.size()); }
};
// `treatment` and `control` must have the same length (>= 1) and finite values.
PairedDifference paired_difference(const std::vector<double>& treatment, const std::vector<double>& control);
// The 0.975 quantile of Student's t with `df` >= 1 degrees of freedom, from a table (exact to
// the 3 decimals printed in statistics tables; df > 30 uses the nearest tabulated df below,
// which errs towards a wider interval; df > 120 uses the normal 1.960).
double student_t_975(int df);

}  // namespace csg
