// src/digits/table.cpp — formats the digits benchmark's table (see table.h).
#include "src/digits/table.h"

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "csg/error.h"
#include "csg/metrics.h"
#include "csg/version.h"
#include "src/ops/onednn/context.h"

namespace csg::train {

namespace {

std::string fixed(double v, int precision, bool sign = false) {
  char buf[64];
  std::snprintf(buf, sizeof buf, sign ? "%+.*f" : "%.*f", precision, v);
  return buf;
}

// "mean [low, high]" of a paired comparison; one seed has no interval.
std::string interval(const PairedDifference& p) {
  if (p.n() < 2) return fixed(p.mean, 2, true) + " (one seed: no interval)";
  return fixed(p.mean, 2, true) + " [" + fixed(p.ci_low, 2, true) + ", " + fixed(p.ci_high, 2, true) + "]";
}

}  // namespace

std::string mean_std(const std::vector<double>& v, int precision) {
  if (v.empty()) return "-";
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  if (v.size() == 1) return fixed(m, precision);
  for (double x : v) s += (x - m) * (x - m);
  return fixed(m, precision) + " +- " + fixed(std::sqrt(s / (v.size() - 1)), precision);
}

std::string digits_table(const DigitsConfig& dc, const std::vector<DigitsRow>& rows, const std::vector<uint64_t>& seeds) {
  CSG_CHECK(rows.size() >= 3, "digits_table: expected the prior, baseline and CSG rows, got ", rows.size());
  const DigitsRow &base = rows[1], &csg = rows[2];
  CSG_CHECK(base.acc.size() == seeds.size() && csg.acc.size() == seeds.size() && base.fonts_acc.size() == seeds.size() &&
                csg.fonts_acc.size() == seeds.size(),
            "digits_table: ", seeds.size(), " seeds but ", base.acc.size(), "/", csg.acc.size(),
            " accuracies; every seed needs both models on both splits");
  std::ostringstream os;
  os << "digits: synthetic -> real MNIST, prior " << dc.prior << ", " << dc.arch << " width " << dc.width << ", "
     << seeds.size() << " seed(s)";
  if (!seeds.empty()) os << " (" << seeds.front() << ".." << seeds.back() << ")";
  const std::string prior_images = dc.prior_images > 0 ? std::to_string(dc.prior_images) : "all";
  os << "\nbudget: prior " << dc.prior_epochs << " epoch(s) x " << prior_images << " images; " << dc.epochs
     << " epochs x " << dc.train_count << " synthetic digits; " << dc.heldout_count << " held-out-font digits; "
     << (dc.test_count < 0 ? std::string("all 10,000") : std::to_string(dc.test_count)) << " real test digits";
  // The kernels that round the f32 convolutions and GEMMs: oneDNN's (by ISA) or im2col + OpenBLAS.
  const std::string kernels = onednn::active() ? "oneDNN " + onednn::isa_name() + " (f32 convolutions, GEMMs), "
                                               : std::string("im2col + ");
  os << "\nmachine: " << cpu_model_name() << ", " << kernels << blas_core_name() << ", " << omp_get_max_threads()
     << " OpenMP threads\n\n";
  os << "| model | E0 | E1 | E2 | real MNIST (%) | held-out fonts (%) |\n|---|---|---|---|---|---|\n";
  // Table 1's order: the prior, the baseline, the regularizer baselines (rows[3..]), CSG last.
  std::vector<const DigitsRow*> order = {&rows[0], &rows[1]};
  for (size_t i = 3; i < rows.size(); ++i) order.push_back(&rows[i]);
  order.push_back(&rows[2]);
  for (const DigitsRow* row : order) {
    const DigitsRow& r = *row;
    os << "| " << r.model << " | " << mean_std(r.e0, 4) << " | " << mean_std(r.e1, 4) << " | " << mean_std(r.e2, 4)
       << " | " << mean_std(r.acc, 2) << " | " << mean_std(r.fonts_acc, 2) << " |\n";
  }
  os << "\n(E_s: hyperspherical energy of the l2-normalised pooled layer4 features of " << dc.hse_images
     << " real test digits, lower = more spread; accuracy: mean class accuracy; mean +- std over seeds)\n\n";
  if (seeds.empty()) return os.str();
  const PairedDifference real = paired_difference(csg.acc, base.acc);
  const PairedDifference fonts = paired_difference(csg.fonts_acc, base.fonts_acc);
  os << "Paired by seed, CSG - baseline (points):\n\n"
     << "| seed | real: baseline | real: CSG | real: CSG - baseline | fonts: baseline | fonts: CSG | fonts: CSG - "
        "baseline |\n|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < seeds.size(); ++i)
    os << "| " << seeds[i] << " | " << fixed(base.acc[i], 2) << " | " << fixed(csg.acc[i], 2) << " | "
       << fixed(real.differences[i], 2, true) << " | " << fixed(base.fonts_acc[i], 2) << " | "
       << fixed(csg.fonts_acc[i], 2) << " | " << fixed(fonts.differences[i], 2, true) << " |\n";
  os << "| mean [95% CI] | | | " << interval(real) << " | | | " << interval(fonts) << " |\n";
  os << "| CSG wins | | | " << real.wins << " of " << real.n() << " | | | " << fonts.wins << " of " << fonts.n()
     << " |\n";
  if (rows.size() > 3) {  // each regularizer against the same baseline, paired by seed
    os << "\nPaired by seed, model - baseline (points; mean [95% CI], wins):\n\n"
       << "| model | real: model - baseline | real: wins | fonts: model - baseline | fonts: wins |\n"
       << "|---|---|---|---|---|\n";
    for (size_t i = 3; i < rows.size(); ++i) {
      CSG_CHECK(rows[i].acc.size() == seeds.size() && rows[i].fonts_acc.size() == seeds.size(), "digits_table: ",
                rows[i].model, " has ", rows[i].acc.size(), " accuracies for ", seeds.size(), " seeds");
      const PairedDifference r = paired_difference(rows[i].acc, base.acc);
      const PairedDifference f = paired_difference(rows[i].fonts_acc, base.fonts_acc);
      os << "| " << rows[i].model << " | " << interval(r) << " | " << r.wins << " of " << r.n() << " | "
         << interval(f) << " | " << f.wins << " of " << f.n() << " |\n";
    }
  }
  if (real.n() >= 2)
    os << "\n(95% CI: mean +- t * std / sqrt(n), Student t with " << real.n() - 1 << " df, t = "
       << fixed(real.t_quantile, 3) << ")\n";
  return os.str();
}

}  // namespace csg::train
