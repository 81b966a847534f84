// src/metrics/paired_difference.cpp — the paired comparison of two methods over seeds: mean
// difference, its 95% Student-t interval and the seeds each method wins. Seeds, not images,
// are the unit: one run's rounding (BLAS kernels, thread counts) moves a result by points,
// so a verdict must rest on the spread between seeds.
#include <cmath>
#include <limits>

#include "csg/error.h"
#include "csg/metrics.h"

namespace csg {

double student_t_975(int df) {
  CSG_CHECK(df >= 1, "student_t_975: degrees of freedom must be at least 1, got ", df);
  // t_{0.975, df}, df = 1..30 (standard tables, e.g. Abramowitz & Stegun 26.10).
  static const double kTable[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                    2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                    2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df <= 30) return kTable[df - 1];
  if (df < 40) return 2.042;
  if (df < 60) return 2.021;
  if (df < 120) return 2.000;
  if (df == 120) return 1.980;
  return 1.960;
}

PairedDifference paired_difference(const std::vector<double>& treatment, const std::vector<double>& control) {
  CSG_CHECK(treatment.size() == control.size(), "paired_difference: ", treatment.size(), " treatment values but ",
            control.size(), " control values; a paired comparison needs one of each per seed");
  CSG_CHECK(!treatment.empty(), "paired_difference: no seeds to compare");
  PairedDifference p;
  for (size_t i = 0; i < treatment.size(); ++i) {
    CSG_CHECK(std::isfinite(treatment[i]) && std::isfinite(control[i]), "paired_difference: seed ", i,
              " has a non-finite value (", treatment[i], ", ", control[i], ")");
    const double d = treatment[i] - control[i];
    p.differences.push_back(d);
    p.mean += d;
    p.wins += d > 0;
    p.ties += d == 0;
  }
  const int n = p.n();
  p.mean /= n;
  if (n < 2) {
    p.std = p.t_quantile = p.ci_low = p.ci_high = std::numeric_limits<double>::quiet_NaN();
    return p;
  }
  double ss = 0;
  for (double d : p.differences) ss += (d - p.mean) * (d - p.mean);
  p.std = std::sqrt(ss / (n - 1));
  p.t_quantile = student_t_975(n - 1);
  const double half = p.t_quantile * p.std / std::sqrt(static_cast<double>(n));
  p.ci_low = p.mean - half;
  p.ci_high = p.mean + half;
  return p;
}

}  // namespace csg
