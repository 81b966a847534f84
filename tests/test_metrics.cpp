// tests/test_metrics.cpp — VisDA class accuracy, Cityscapes confusion matrix / mIoU and the
// hyperspherical energy: hand-computed examples, the reference formulas run in Python
// (data/fixtures/metrics/metrics.safetensors from tools/reference/make_metric_fixtures.py),
// naive loops, properties and error cases.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "csg/io/safetensors.h"
#include "csg/metrics.h"
#include "tests/testing.h"

using namespace csg;

namespace {

std::map<std::string, Tensor> metric_fixtures() {
  std::map<std::string, Tensor> ref;
  for (NamedTensor& t : load_safetensors("data/fixtures/metrics/metrics.safetensors")) ref[t.name] = t.tensor;
  return ref;
}

Tensor i64(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }
Tensor i64(const std::vector<int64_t>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }

// The message of the csg::Error `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// E_s by the definition, pair by pair (an independent naive reference).
double naive_energy(const Tensor& features, double s) {
  const int64_t N = features.size(0), D = features.size(1);
  const std::vector<double> x = features.to_vector();
  std::vector<double> n(N);
  for (int64_t i = 0; i < N; ++i) {
    double sq = 0;
    for (int64_t k = 0; k < D; ++k) sq += x[i * D + k] * x[i * D + k];
    n[i] = std::sqrt(sq + 1e-4);
  }
  double sum = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = i + 1; j < N; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < D; ++k) dot += x[i * D + k] * x[j * D + k];
      const double d2 = 2.0 - 2.0 * dot / (n[i] * n[j]);
      sum += s == 0 ? -std::log(d2) : std::pow(d2, -s / 2);
    }
  return sum / (0.5 * N * (N - 1));
}

// N points on the unit circle (scaled by r) at the given angles, as [N,2].
Tensor circle_points(const std::vector<double>& angles, double r = 1.0) {
  std::vector<double> v;
  for (double a : angles) {
    v.push_back(r * std::cos(a));
    v.push_back(r * std::sin(a));
  }
  return from_vector(v, {static_cast<int64_t>(angles.size()), 2});
}

}  // namespace

// ---- ClassAccuracy -------------------------------------------------------------------------

TEST(ClassAccuracy, HandExampleWithEmptyClass) {
  ClassAccuracy acc(4);
  // class 0: 4 samples, 3 right; class 1: 2 samples, 1 right; class 2: none (but predicted
  // once, wrongly); class 3: 1 sample, wrong.
  acc.add(i64({0, 0, 0, 1, 1, 3}), i64({0, 0, 0, 1, 1, 3}));  // counted, then dropped by reset()
  acc.reset();
  EXPECT_EQ(acc.num_samples(), 0);
  acc.add(i64({0, 0, 2}), i64({0, 0, 0}));
  acc.add(i64({1, 2, 0}), i64({1, 1, 3}));
  EXPECT_EQ(acc.total(0), 3);
  EXPECT_EQ(acc.correct(0), 2);
  acc.add(i64({0}), i64({0}));
  EXPECT_EQ(acc.correct(0), 3);
  EXPECT_EQ(acc.total(1), 2);
  EXPECT_EQ(acc.correct(1), 1);
  EXPECT_EQ(acc.total(2), 0);
  EXPECT_FALSE(acc.has_samples(2));
  EXPECT_TRUE(acc.has_samples(3));
  EXPECT_DOUBLE_EQ(acc.class_accuracy(0), 75.0);
  EXPECT_DOUBLE_EQ(acc.class_accuracy(1), 50.0);
  EXPECT_DOUBLE_EQ(acc.class_accuracy(2), 0.0);  // no samples: 0, as the reference
  EXPECT_DOUBLE_EQ(acc.class_accuracy(3), 0.0);
  EXPECT_DOUBLE_EQ(acc.mean_accuracy(), (75.0 + 50.0) / 4);
  EXPECT_EQ(acc.num_samples(), 7);
  EXPECT_EQ(acc.num_correct(), 4);
  EXPECT_NEAR(acc.overall_accuracy(), 100.0 * 4 / 7, 1e-12);

  const std::string table = acc.table();
  EXPECT_NE(table.find("class 2"), std::string::npos) << table;
  EXPECT_NE(table.find("no samples"), std::string::npos) << table;
  EXPECT_NE(table.find("31.25"), std::string::npos) << table;  // the mean
  EXPECT_NE(table.find("57.14"), std::string::npos) << table;  // overall
  EXPECT_EQ(acc.csv_header(), "mean_class_acc,overall_acc,acc_class_0,acc_class_1,acc_class_2,acc_class_3");
  EXPECT_EQ(acc.csv_row(), "31.2500,57.1429,75.0000,50.0000,0.0000,0.0000");
}

TEST(ClassAccuracy, MeanDiffersFromOverallOnImbalancedClasses) {
  // 900 samples of class 0 all right, 100 of class 1 all wrong: overall 90 %, mean 50 %.
  std::vector<int64_t> pred(1000, 0), gt(1000, 0);
  for (int i = 900; i < 1000; ++i) gt[i] = 1;
  ClassAccuracy acc(2);
  acc.add(i64(pred), i64(gt));
  EXPECT_DOUBLE_EQ(acc.overall_accuracy(), 90.0);
  EXPECT_DOUBLE_EQ(acc.mean_accuracy(), 50.0);
}

TEST(ClassAccuracy, LogitsTakeTheArgmaxFirstMaximumOnTies) {
  ClassAccuracy acc(3);
  // rows: argmax 2, 0, tie(1,2) -> 1, tie(all) -> 0
  Tensor logits = from_vector(std::vector<float>{0.1f, 0.2f, 0.9f, 5, -1, 2, 0, 3, 3, 1, 1, 1}, {4, 3});
  acc.add(logits, i64({2, 1, 1, 0}));
  EXPECT_EQ(acc.correct(2), 1);
  EXPECT_EQ(acc.correct(1), 1);  // row 2 (tie -> 1); row 1 predicted 0 for label 1
  EXPECT_EQ(acc.total(1), 2);
  EXPECT_EQ(acc.correct(0), 1);
  // Double logits, and a logits tensor that requires grad, work the same.
  ClassAccuracy acc64(3);
  Tensor l64 = logits.to(DType::F64).requires_grad_();
  acc64.add(l64, i64({2, 1, 1, 0}));
  EXPECT_EQ(acc64.csv_row(), acc.csv_row());
}

TEST(ClassAccuracy, ErrorsNameTheValueAndPositionAndKeepCounts) {
  ClassAccuracy acc(3, {"a", "b", "c"});
  acc.add(i64({0, 1}), i64({0, 1}));
  std::string msg = error_of([&] { acc.add(i64({0, 1, 2}), i64({0, 1, 7})); });
  EXPECT_NE(msg.find("label 7 at position 2"), std::string::npos) << msg;
  msg = error_of([&] { acc.add(i64({0, 1}), i64({0, -1})); });
  EXPECT_NE(msg.find("label -1 at position 1"), std::string::npos) << msg;
  msg = error_of([&] { acc.add(i64({0, 3}), i64({0, 1})); });
  EXPECT_NE(msg.find("prediction 3 at position 1"), std::string::npos) << msg;
  EXPECT_EQ(acc.num_samples(), 2);  // the failed batches changed nothing
  EXPECT_EQ(acc.num_correct(), 2);

  EXPECT_THROW(acc.add(i64({0, 1}), i64({0, 1, 2})), Error);                                  // N differs
  EXPECT_THROW(acc.add(i64({0, 1}), from_vector(std::vector<float>{0, 1}, {2})), Error);       // float labels
  EXPECT_THROW(acc.add(i64({0, 1}, {1, 2}), i64({0, 1})), Error);                             // 2-D predictions
  EXPECT_THROW(acc.add(zeros({2, 4}), i64({0, 1})), Error);                                   // 4 columns for 3 classes
  EXPECT_THROW(acc.add(zeros({2, 3, 1}), i64({0, 1})), Error);                                // 3-D logits
  EXPECT_THROW(acc.add(Tensor(), i64({0, 1})), Error);
  EXPECT_THROW(ClassAccuracy(3, {"a", "b"}), Error);
  EXPECT_THROW(ClassAccuracy(0), Error);
  EXPECT_THROW(acc.total(3), Error);
  EXPECT_THROW(acc.merge(ClassAccuracy(4)), Error);
}

TEST(ClassAccuracy, VisdaTableAndCsvAndMerge) {
  ClassAccuracy a = ClassAccuracy::visda(), b = ClassAccuracy::visda();
  ASSERT_EQ(a.num_classes(), 12);
  EXPECT_EQ(a.class_names().front(), "aeroplane");
  EXPECT_EQ(a.class_names().back(), "truck");
  a.add(i64({0, 1, 2}), i64({0, 1, 11}));
  b.add(i64({11, 5}), i64({11, 5}));
  a.merge(b);
  EXPECT_EQ(a.num_samples(), 5);
  EXPECT_EQ(a.correct(11), 1);
  EXPECT_EQ(a.total(11), 2);
  EXPECT_DOUBLE_EQ(a.mean_accuracy(), (100.0 + 100.0 + 50.0 + 100.0) / 12);

  const std::string table = a.table();
  int lines = 0;
  for (char ch : table) lines += ch == '\n';
  EXPECT_EQ(lines, 1 + 12 + 1 + 2) << table;  // header, classes, rule, mean + overall
  EXPECT_NE(table.find("skateboard"), std::string::npos);
  EXPECT_NE(table.find("mean class accuracy"), std::string::npos);
  // As many CSV columns as values.
  auto columns = [](const std::string& s) { return 1 + std::count(s.begin(), s.end(), ','); };
  EXPECT_EQ(columns(a.csv_header()), 14);
  EXPECT_EQ(columns(a.csv_row()), 14);
}

TEST(MetricsFixtures, ClassAccuracyMatchesReferenceAccumulation) {
  // The reference's per-batch accuracy() + AverageMeter over batches of 17, 13 and 10.
  auto ref = metric_fixtures();
  ClassAccuracy acc(5);
  const Tensor& logits = ref["cls_logits"];
  const Tensor& labels = ref["cls_labels"];
  for (auto [lo, hi] : {std::pair<int, int>{0, 17}, {17, 30}, {30, 40}})
    acc.add(logits.slice(0, lo, hi), labels.slice(0, lo, hi));
  const std::vector<double> want = ref["cls_class_acc"].to_vector();  // float32 in the reference
  for (int c = 0; c < 5; ++c) EXPECT_NEAR(acc.class_accuracy(c), want[c], 1e-4) << "class " << c;
  EXPECT_FALSE(acc.has_samples(3));
  EXPECT_NEAR(acc.mean_accuracy(), ref["cls_mean_acc"].item(), 1e-4);
}

TEST(ClassAccuracy, CudaLogitsGiveTheSameCounts) {
  CSG_REQUIRE_CUDA();
  Tensor logits = csg::testing::uniform({64, 12}, 5, DType::F32);
  std::vector<int64_t> gt(64);
  for (int i = 0; i < 64; ++i) gt[i] = (i * 7) % 12;
  ClassAccuracy cpu(12), gpu(12);
  cpu.add(logits, i64(gt));
  gpu.add(logits.to(Device::CUDA), i64(gt).to(Device::CUDA));
  EXPECT_EQ(cpu.csv_row(), gpu.csv_row());
}

// ---- ConfusionMatrix -----------------------------------------------------------------------

TEST(ConfusionMatrix, HandMatrixWithAbsentClass) {
  ConfusionMatrix cm(4);
  // gt   0 0 0 1 | 1 2 2 255      hist[gt][pred]: gt0 -> {0:2, 1:1}; gt1 -> {1:2}; gt2 -> {2:1, 0:1}
  // pred 0 0 1 1 | 1 2 0 3        the 255 pixel (predicted 3) is ignored: class 3 is absent.
  cm.add(i64({0, 0, 1, 1, 1, 2, 0, 3}, {1, 2, 4}), i64({0, 0, 0, 1, 1, 2, 2, 255}, {1, 2, 4}));
  EXPECT_EQ(cm.count(0, 0), 2);
  EXPECT_EQ(cm.count(0, 1), 1);
  EXPECT_EQ(cm.count(1, 1), 2);
  EXPECT_EQ(cm.count(2, 2), 1);
  EXPECT_EQ(cm.count(2, 0), 1);
  EXPECT_EQ(cm.labeled_pixels(), 7);
  EXPECT_EQ(cm.ignored_pixels(), 1);
  EXPECT_EQ(cm.pred_pixels(3), 0);
  EXPECT_DOUBLE_EQ(cm.class_iou(0), 100.0 * 2 / (3 + 3 - 2));
  EXPECT_DOUBLE_EQ(cm.class_iou(1), 100.0 * 2 / (2 + 3 - 2));
  EXPECT_DOUBLE_EQ(cm.class_iou(2), 100.0 * 1 / (2 + 1 - 1));
  EXPECT_TRUE(std::isnan(cm.class_iou(3)));
  EXPECT_EQ(cm.num_valid_classes(), 3);
  EXPECT_NEAR(cm.mean_iou(), (50.0 + 200.0 / 3 + 50.0) / 3, 1e-12);  // NaN skipped, not a 0
  EXPECT_NEAR(cm.pixel_accuracy(), 100.0 * 5 / 7, 1e-12);
  const std::string table = cm.table();
  EXPECT_NE(table.find("skipped"), std::string::npos) << table;
  EXPECT_NE(table.find("55.56"), std::string::npos) << table;
  EXPECT_EQ(cm.csv_row(), "55.5556,71.4286,50.0000,66.6667,50.0000,nan");

  // A class predicted on a labelled pixel but never in the labels has IoU 0, not NaN.
  cm.add(i64({3}, {1, 1, 1}), i64({0}, {1, 1, 1}));
  EXPECT_DOUBLE_EQ(cm.class_iou(3), 0.0);
  EXPECT_EQ(cm.num_valid_classes(), 4);
}

TEST(ConfusionMatrix, IgnoredAndUnexpectedLabelsAreExcluded) {
  // The same pixels with and without extra 255 (and stray 30) pixels predicted as anything.
  Tensor pred = i64({0, 1, 1, 2, 0, 1}, {1, 2, 3});
  Tensor gt = i64({0, 1, 2, 2, 0, 0}, {1, 2, 3});
  ConfusionMatrix clean(3), noisy(3);
  clean.add(pred, gt);
  noisy.add(i64({0, 1, 1, 2, 0, 1, 2, 0, 1, 2}, {1, 2, 5}), i64({0, 1, 2, 255, 255, 2, 0, 0, 30, 255}, {1, 2, 5}));
  // noisy's labelled pixels, in order: (0,0) (1,1) (2,1) (2,1) (0,2) (0,0) -> not the clean
  // ones; compare instead with a manual count over the labelled pixels only.
  ConfusionMatrix manual(3);
  manual.add(i64({0, 1, 1, 1, 2, 0}, {1, 1, 6}), i64({0, 1, 2, 2, 0, 0}, {1, 1, 6}));
  EXPECT_EQ(noisy.counts(), manual.counts());
  EXPECT_EQ(noisy.ignored_pixels(), 3);
  EXPECT_EQ(noisy.unexpected_label_pixels(), 1);
  EXPECT_EQ(noisy.labeled_pixels(), 6);
  EXPECT_NE(noisy.table().find("warning: 1 pixel(s)"), std::string::npos) << noisy.table();
  EXPECT_EQ(clean.table().find("warning"), std::string::npos);
  // A custom ignore value: 255 then counts as unexpected (still skipped).
  ConfusionMatrix other_ignore(3, -1);
  other_ignore.add(i64({0, 0}, {1, 1, 2}), i64({-1, 255}, {1, 1, 2}));
  EXPECT_EQ(other_ignore.ignored_pixels(), 1);
  EXPECT_EQ(other_ignore.unexpected_label_pixels(), 1);
  EXPECT_EQ(other_ignore.labeled_pixels(), 0);
  EXPECT_TRUE(std::isnan(other_ignore.mean_iou()));
  EXPECT_TRUE(std::isnan(other_ignore.pixel_accuracy()));
}

TEST(ConfusionMatrix, FusedLogitsArgmaxMatchesPredictions) {
  // 2 x 5 x 128 x 256 = 65,536 pixels: large enough for the threaded path.
  const int64_t N = 2, C = 5, H = 128, W = 256;
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor logits = csg::testing::uniform({N, C, H, W}, 11, dt);
    Tensor labels = csg::testing::uniform({N, H, W}, 12, DType::F64, 0, 6).to(DType::F32);
    std::vector<int64_t> gt;
    for (double v : labels.to_vector()) gt.push_back(v >= 5 ? 255 : static_cast<int64_t>(v));
    Tensor gt_t = i64(gt, {N, H, W});
    ConfusionMatrix from_logits(C), from_pred(C);
    from_logits.add(logits, gt_t);
    from_pred.add(argmax(logits, 1), gt_t);
    EXPECT_EQ(from_logits.counts(), from_pred.counts());
    EXPECT_EQ(from_logits.ignored_pixels(), from_pred.ignored_pixels());
    EXPECT_GT(from_logits.ignored_pixels(), 0);
    // A non-contiguous logits view (channels last, permuted back) gives the same.
    ConfusionMatrix from_view(C);
    from_view.add(logits.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2}), gt_t);
    EXPECT_EQ(from_view.counts(), from_logits.counts());
  }
}

TEST(ConfusionMatrix, ErrorsForShapesAndValues) {
  ConfusionMatrix cm(3);
  Tensor gt = i64({0, 1, 2, 255}, {1, 2, 2});
  EXPECT_THROW(cm.add(i64({0, 1, 2}, {1, 1, 3}), gt), Error);              // prediction shape
  EXPECT_THROW(cm.add(zeros({1, 3, 2, 3}), gt), Error);                    // logits spatial size
  EXPECT_THROW(cm.add(zeros({2, 3, 2, 2}), gt), Error);                    // logits batch
  EXPECT_THROW(cm.add(zeros({1, 4, 2, 2}), gt), Error);                    // logits classes
  EXPECT_THROW(cm.add(zeros({1, 2, 2}), gt), Error);                       // float [N,H,W]
  EXPECT_THROW(cm.add(i64({0, 1, 2, 0}, {1, 2, 2}), gt.to(DType::F32)), Error);  // float labels
  EXPECT_THROW(cm.add(i64({0, 1, 2, 0}), i64({0, 1, 2, 0})), Error);       // 1-D
  std::string msg = error_of([&] { cm.add(i64({0, 1, 2, 5}, {1, 2, 2}), gt); });
  EXPECT_NE(msg.find("prediction 5 at [0,1,1]"), std::string::npos) << msg;
  EXPECT_EQ(cm.labeled_pixels(), 0);  // nothing counted by the failed add
  EXPECT_THROW(ConfusionMatrix(3, 2), Error);  // ignore index is a class
  EXPECT_THROW(ConfusionMatrix(3, 255, {"a"}), Error);
  EXPECT_THROW(cm.count(3, 0), Error);
  EXPECT_THROW(cm.merge(ConfusionMatrix(4)), Error);
}

TEST(ConfusionMatrix, CityscapesNamesTableAndMerge) {
  ConfusionMatrix a = ConfusionMatrix::cityscapes(), b = ConfusionMatrix::cityscapes();
  ASSERT_EQ(a.num_classes(), 19);
  EXPECT_EQ(a.ignore_index(), 255);
  a.add(i64({0, 13}, {1, 1, 2}), i64({0, 13}, {1, 1, 2}));
  b.add(i64({13, 18}, {1, 1, 2}), i64({13, 255}, {1, 1, 2}));
  a.merge(b);
  EXPECT_EQ(a.count(13, 13), 2);
  EXPECT_EQ(a.ignored_pixels(), 1);
  EXPECT_DOUBLE_EQ(a.mean_iou(), 100.0);
  const std::string table = a.table();
  EXPECT_NE(table.find("traffic light"), std::string::npos);
  EXPECT_NE(table.find("bicycle"), std::string::npos);
  EXPECT_NE(table.find("NaN-mean over 2 of 19 classes"), std::string::npos) << table;
  EXPECT_NE(a.csv_header().find("iou_traffic_light"), std::string::npos);
  a.reset();
  EXPECT_EQ(a.labeled_pixels(), 0);
  EXPECT_EQ(a.ignored_pixels(), 0);
}

TEST(MetricsFixtures, ConfusionMatrixMatchesReferenceScore) {
  // The reference's hist_info over two images + compute_score; class 5 absent (NaN).
  auto ref = metric_fixtures();
  ConfusionMatrix cm(6);
  const Tensor& pred = ref["seg_pred"];
  const Tensor& gt = ref["seg_labels"];
  for (int i = 0; i < 2; ++i) cm.add(pred.slice(0, i, i + 1), gt.slice(0, i, i + 1));
  const std::vector<double> hist = ref["seg_hist"].to_vector();
  for (size_t k = 0; k < hist.size(); ++k) EXPECT_EQ(cm.counts()[k], static_cast<int64_t>(hist[k])) << k;
  const std::vector<double> iou = ref["seg_iou"].to_vector();
  for (int c = 0; c < 6; ++c) {
    if (std::isnan(iou[c])) {
      EXPECT_TRUE(std::isnan(cm.class_iou(c))) << c;
    } else {
      EXPECT_NEAR(cm.class_iou(c), 100.0 * iou[c], 1e-12) << c;
    }
  }
  const std::vector<double> scores = ref["seg_miou_pixel_acc"].to_vector();
  EXPECT_NEAR(cm.mean_iou(), 100.0 * scores[0], 1e-12);
  EXPECT_NEAR(cm.pixel_accuracy(), 100.0 * scores[1], 1e-12);
}

TEST(ConfusionMatrix, CudaLogitsGiveTheSameCounts) {
  CSG_REQUIRE_CUDA();
  Tensor logits = csg::testing::uniform({2, 19, 16, 24}, 21, DType::F32);
  std::vector<int64_t> gt(2 * 16 * 24);
  for (size_t i = 0; i < gt.size(); ++i) gt[i] = i % 23 < 19 ? static_cast<int64_t>(i % 23) : 255;
  ConfusionMatrix cpu = ConfusionMatrix::cityscapes(), gpu = ConfusionMatrix::cityscapes();
  cpu.add(logits, i64(gt, {2, 16, 24}));
  gpu.add(logits.to(Device::CUDA), i64(gt, {2, 16, 24}).to(Device::CUDA));
  EXPECT_EQ(cpu.counts(), gpu.counts());
}

// ---- hyperspherical energy -----------------------------------------------------------------

TEST(MetricsFixtures, HypersphericalEnergyMatchesMHE) {
  // MHE's _add_thomson_constraint in numpy float64 (N=50, D=16; "small" has |x|^2 ~ 1e-3 so
  // the 1e-4 inside the norm's root matters).
  auto ref = metric_fixtures();
  for (const std::string set : {"random", "small"}) {
    const Tensor& x = ref["hse_" + set + "_features"];
    const std::vector<double> want = ref["hse_" + set + "_energy"].to_vector();
    const HypersphericalEnergies e = hyperspherical_energies(x);
    EXPECT_NEAR(e.e0, want[0], 1e-9 * std::abs(want[0])) << set;
    EXPECT_NEAR(e.e1, want[1], 1e-9 * std::abs(want[1])) << set;
    EXPECT_NEAR(e.e2, want[2], 1e-9 * std::abs(want[2])) << set;
    EXPECT_EQ(e.num_pairs, 50 * 49 / 2);
    EXPECT_EQ(e.clamped_pairs, 0);
    for (int s = 0; s <= 2; ++s)
      EXPECT_NEAR(hyperspherical_energy(x, s), want[s], 1e-9 * std::abs(want[s])) << set << " s=" << s;
    // Row blocks of 3 (many GEMMs, ragged last block) give the same sums.
    EnergyOptions tiny_blocks;
    tiny_blocks.block_elements = 3 * 50;
    EXPECT_NEAR(hyperspherical_energies(x, tiny_blocks).e2, want[2], 1e-9 * std::abs(want[2])) << set;
    // Float32 features and Gram: close, not exact.
    EnergyOptions f32;
    f32.gram_dtype = DType::F32;
    const HypersphericalEnergies e32 = hyperspherical_energies(x.to(DType::F32), f32);
    EXPECT_NEAR(e32.e0, want[0], 1e-5 * std::abs(want[0])) << set;
    EXPECT_NEAR(e32.e2, want[2], 1e-5 * std::abs(want[2])) << set;
  }
}

TEST(HypersphericalEnergy, MatchesNaivePairLoopIncludingOtherPowers) {
  Tensor x = csg::testing::uniform({37, 5}, 3, DType::F64, 0.0, 1.0);  // positive, clustered
  for (double s : {0.0, 0.5, 1.0, 2.0, 3.0}) {
    const double want = naive_energy(x, s);
    EXPECT_NEAR(hyperspherical_energy(x, s), want, 1e-10 * std::abs(want)) << "s=" << s;
  }
  // Permuting the rows leaves the energy unchanged; so does scaling once the norms are large
  // enough for the 1e-4 inside the root not to matter (here it does matter at scale 1).
  auto rows_reversed_and_scaled = [&](double scale) {
    std::vector<double> v = x.to_vector(), rev;
    for (int64_t i = 36; i >= 0; --i)
      for (int64_t k = 0; k < 5; ++k) rev.push_back(scale * v[i * 5 + k]);
    return from_vector(rev, {37, 5});
  };
  const double e1 = hyperspherical_energies(x).e1;
  EXPECT_NEAR(hyperspherical_energies(rows_reversed_and_scaled(1.0)).e1, e1, 1e-12 * e1);
  EXPECT_NEAR(hyperspherical_energies(rows_reversed_and_scaled(1e3)).e1,
              hyperspherical_energies(rows_reversed_and_scaled(1e4)).e1, 1e-7 * e1);
  EXPECT_GT(std::abs(hyperspherical_energies(rows_reversed_and_scaled(1e3)).e1 - e1), 1e-5 * e1);
}

// The same features give the same energies bit for bit, whatever order the threads finish in (the
// digits table and its tests compare a frozen prior's energies with the prior's exactly).
TEST(HypersphericalEnergy, RepeatsBitForBit) {
  const Tensor x = csg::testing::uniform({2000, 16}, 11, DType::F32, -1.0, 1.0);
  const HypersphericalEnergies first = hyperspherical_energies(x);
  for (int k = 0; k < 20; ++k) {
    const HypersphericalEnergies again = hyperspherical_energies(x);
    ASSERT_EQ(again.e0, first.e0) << "repeat " << k;
    ASSERT_EQ(again.e1, first.e1) << "repeat " << k;
    ASSERT_EQ(again.e2, first.e2) << "repeat " << k;
  }
}

TEST(HypersphericalEnergy, UniformCircleIsLowerThanClustered) {
  const int n = 24;
  const double pi = std::acos(-1.0);
  std::vector<double> uniform_angles, clustered_angles;
  for (int i = 0; i < n; ++i) {
    uniform_angles.push_back(2 * pi * i / n);
    clustered_angles.push_back(0.8 * pi * i / n);  // all within 0.8 pi
  }
  const HypersphericalEnergies u = hyperspherical_energies(circle_points(uniform_angles, 10.0));
  const HypersphericalEnergies c = hyperspherical_energies(circle_points(clustered_angles, 10.0));
  EXPECT_LT(u.e0, c.e0);
  EXPECT_LT(u.e1, c.e1);
  EXPECT_LT(u.e2, c.e2);
  // Uniform points: d2 = 2 - 2 cos(2 pi k / n) for the pair k apart (up to the 1e-4 in the
  // norms, 1e-6 relative at radius 10).
  double e0 = 0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) e0 -= std::log(2 - 2 * std::cos(2 * pi * (j - i) / n));
  EXPECT_NEAR(u.e0, e0 / (n * (n - 1) / 2), 1e-5);
}

TEST(HypersphericalEnergy, CoincidentPointsAreClampedToInfinity) {
  // Two identical vectors of norm 1e8: |x|^2 + 1e-4 rounds to |x|^2, cos = 1, d2 = 0 (the
  // reference: -log(0) = inf, and NaN for a rounding-negative d2); clamped and counted.
  Tensor x = from_vector(std::vector<double>{1e8, 0, 1e8, 0, 0, 1e8}, {3, 2});
  const HypersphericalEnergies e = hyperspherical_energies(x);
  EXPECT_EQ(e.clamped_pairs, 1);
  EXPECT_TRUE(std::isinf(e.e0) && e.e0 > 0);
  EXPECT_TRUE(std::isinf(e.e1) && e.e1 > 0);
  EXPECT_TRUE(std::isinf(e.e2) && e.e2 > 0);
  EXPECT_FALSE(std::isnan(e.e0));
}

TEST(HypersphericalEnergy, ErrorsForBadInputs) {
  EXPECT_THROW(hyperspherical_energies(zeros({8})), Error);                       // 1-D
  EXPECT_THROW(hyperspherical_energies(zeros({2, 3, 4})), Error);                 // 3-D
  EXPECT_THROW(hyperspherical_energies(ones({1, 4})), Error);                     // one vector: no pairs
  EXPECT_THROW(hyperspherical_energies(ones({4, 0})), Error);                     // D = 0
  EXPECT_THROW(hyperspherical_energies(i64({1, 2, 3, 4}, {2, 2})), Error);        // integer features
  EXPECT_THROW(hyperspherical_energy(ones({3, 2}), -1.0), Error);                 // negative power
  EXPECT_THROW(hyperspherical_energies(Tensor()), Error);
  Tensor with_nan = from_vector(std::vector<double>{1, 0, std::nan(""), 1}, {2, 2});
  std::string msg = error_of([&] { hyperspherical_energies(with_nan); });
  EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
  EnergyOptions bad;
  bad.gram_dtype = DType::I64;
  EXPECT_THROW(hyperspherical_energies(ones({3, 2}), bad), Error);
  bad.gram_dtype = DType::F64;
  bad.block_elements = 0;
  EXPECT_THROW(hyperspherical_energies(ones({3, 2}), bad), Error);
}

TEST(HypersphericalEnergy, CudaFloatGramMatchesCpu) {
  CSG_REQUIRE_CUDA();
  Tensor x = csg::testing::uniform({300, 64}, 9, DType::F32, 0.0, 1.0);
  EnergyOptions f32;
  f32.gram_dtype = DType::F32;
  f32.block_elements = 100 * 300;  // several blocks
  const HypersphericalEnergies cpu = hyperspherical_energies(x);
  const HypersphericalEnergies gpu = hyperspherical_energies(x.to(Device::CUDA), f32);
  EXPECT_NEAR(gpu.e0, cpu.e0, 1e-4 * std::abs(cpu.e0));
  EXPECT_NEAR(gpu.e1, cpu.e1, 1e-4 * std::abs(cpu.e1));
  EXPECT_NEAR(gpu.e2, cpu.e2, 1e-4 * std::abs(cpu.e2));
  // Default options on CUDA features: copied to the CPU, double Gram, same as the CPU result.
  EXPECT_NEAR(hyperspherical_energies(x.to(Device::CUDA)).e1, cpu.e1, 1e-12 * cpu.e1);
}

// Data-parallel evaluation sums every count over processes: the counts of two halves, added to
// an empty accumulator, give the whole set's table.
TEST(Metrics, CountVectorsOfShardsAddUpToTheWhole) {
  ClassAccuracy whole(3), half1(3), half2(3), summed(3);
  const Tensor pred1 = from_vector(std::vector<int64_t>{0, 1, 2, 2}, {4}), gt1 = from_vector(std::vector<int64_t>{0, 1, 1, 2}, {4});
  const Tensor pred2 = from_vector(std::vector<int64_t>{1, 0}, {2}), gt2 = from_vector(std::vector<int64_t>{1, 2}, {2});
  whole.add(pred1, gt1);
  whole.add(pred2, gt2);
  half1.add(pred1, gt1);
  half2.add(pred2, gt2);
  std::vector<int64_t> v = half1.count_vector();
  const std::vector<int64_t> w = half2.count_vector();
  for (size_t i = 0; i < v.size(); ++i) v[i] += w[i];
  summed.add_counts(v);
  EXPECT_EQ(summed.count_vector(), whole.count_vector());
  EXPECT_DOUBLE_EQ(summed.mean_accuracy(), whole.mean_accuracy());
  EXPECT_THROW(summed.add_counts({1, 2}), Error);

  ConfusionMatrix cm_whole(2), cm_a(2), cm_b(2), cm_sum(2);
  const Tensor pa = from_vector(std::vector<int64_t>{0, 1, 1, 0}, {1, 2, 2}), ga = from_vector(std::vector<int64_t>{0, 1, 255, 1}, {1, 2, 2});
  const Tensor pb = from_vector(std::vector<int64_t>{1, 1}, {1, 1, 2}), gb = from_vector(std::vector<int64_t>{1, 0}, {1, 1, 2});
  cm_whole.add(pa, ga);
  cm_whole.add(pb, gb);
  cm_a.add(pa, ga);
  cm_b.add(pb, gb);
  std::vector<int64_t> c = cm_a.count_vector();
  for (size_t i = 0; i < c.size(); ++i) c[i] += cm_b.count_vector()[i];
  cm_sum.add_counts(c);
  EXPECT_EQ(cm_sum.count_vector(), cm_whole.count_vector());
  EXPECT_EQ(cm_sum.ignored_pixels(), 1);
  EXPECT_DOUBLE_EQ(cm_sum.mean_iou(), cm_whole.mean_iou());
}
