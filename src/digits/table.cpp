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

// The accuracy columns: each split with its row field, the real digits unless validation only.
struct Split {
  const char* title;
  std::vector<double> DigitsRow::*values;
};
std::vector<Split> splits_of(const DigitsConfig& dc) {
  std::vector<Split> s = {{"val_synthetic", &DigitsRow::val_acc}, {"held-out fonts", &DigitsRow::fonts_acc}};
  if (!dc.validation_only) s.push_back({"real MNIST 5-9", &DigitsRow::acc});
  return s;
}

// "| <first> | <split> | ... |" and its rule line.
std::string split_header(const std::string& first, const std::vector<Split>& splits) {
  std::string h = "| " + first + " |", rule = "|---|";
  for (const Split& s : splits) h += std::string(" ") + s.title + " |", rule += "---|";
  return h + "\n" + rule + "\n";
}

const DigitsRow* find_row(const std::vector<DigitsRow>& rows, const std::string& key) {
  for (const DigitsRow& r : rows)
    if (r.key == key) return &r;
  return nullptr;
}

// Whether a row was trained for every seed (models left out by --models have no entries).
bool complete(const DigitsRow* r, size_t seeds) { return r && seeds > 0 && r->fonts_acc.size() == seeds; }

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

namespace {

// The lines above the table: the task, the budget, the settings and the machine.
void write_heading(std::ostream& os, const DigitsConfig& dc, const DigitsSettings& set,
                   const std::vector<uint64_t>& seeds) {
  os << "digits: synthetic 5-9 -> real MNIST 5-9, prior " << dc.prior << ", " << name_of(dc.arch) << " width " << dc.width
     << ", " << name_of(dc.stem) << " stem, " << seeds.size() << " seed(s)";
  if (!seeds.empty()) os << " (" << seeds.front() << ".." << seeds.back() << ")";
  if (dc.validation_only) os << "; validation splits only (the real digits were not read)";
  const std::string prior_images = dc.prior_images > 0 ? std::to_string(dc.prior_images) : "all";
  os << "\nbudget: prior " << dc.prior_epochs << " epoch(s) x " << prior_images << " images; " << dc.epochs
     << " epochs x " << dc.train_count << " synthetic digits (batch " << dc.batch_size << "); " << dc.val_count
     << " val_synthetic, " << dc.heldout_count << " held-out-font digits";
  if (!dc.validation_only)
    os << "; " << (dc.test_count < 0 ? std::string("all") : std::to_string(dc.test_count)) << " real test digits";
  os << "\nsettings: lr " << fixed(set.lr, 4) << " (backbone x " << dc.factor << "), EMA " << fixed(set.ema, 4)
     << ", queue " << set.queue_size << ", RandAugment M=" << dc.randaug_m << " with " << name_of(dc.randaug_geometry)
     << " translations, lambda " << dc.lambda << ", layers";
  for (int l : dc.layers) os << " " << l;
  os << ", " << (dc.apool ? "A-pool" : "GAP");
  // The kernels that round the f32 convolutions and GEMMs: oneDNN's (by ISA) or im2col + OpenBLAS.
  const std::string kernels = onednn::active() ? "oneDNN " + onednn::isa_name() + " (f32 convolutions, GEMMs), "
                                               : std::string("im2col + ");
  os << "\nmachine: " << cpu_model_name() << ", " << kernels << blas_core_name() << ", " << omp_get_max_threads()
     << " OpenMP threads\n\n";
}

// One line per model, mean +- std over the seeds: energies, then accuracy on each split.
void write_model_rows(std::ostream& os, const DigitsConfig& dc, const std::vector<Split>& splits,
                      const std::vector<DigitsRow>& rows) {
  os << "| model | E0 | E1 | E2 |";
  for (const Split& s : splits) os << " " << s.title << " (%) |";
  os << "\n|---|---|---|---|";
  for (size_t i = 0; i < splits.size(); ++i) os << "---|";
  os << "\n";
  auto row_line = [&](const DigitsRow& r) {
    os << "| " << r.model << " | " << mean_std(r.e0, 4) << " | " << mean_std(r.e1, 4) << " | " << mean_std(r.e2, 4)
       << " |";
    for (const Split& s : splits) os << " " << mean_std(r.*s.values, 2) << " |";
    os << "\n";
  };
  // Table 1's order: the prior and the premise rows, the baseline, the regularizers, CSG last.
  for (const DigitsRow& r : rows)
    if (r.key != "csg" && (r.key == "prior" || !r.fonts_acc.empty())) row_line(r);
  if (const DigitsRow* c = find_row(rows, "csg"); c && !c->fonts_acc.empty()) row_line(*c);
  os << "\n(E_s: hyperspherical energy of the l2-normalised pooled layer4 features of " << dc.hse_images
     << " real test digits, lower = more spread; accuracy: mean class accuracy over the 5 classes; mean +- std over "
        "seeds)\n";
}

// The Student t of the intervals printed, for the footnote.
struct TQuantile {
  int df = 0;
  double t = 0;
  void note(const PairedDifference& p) {
    if (p.n() >= 2) df = p.n() - 1, t = p.t_quantile;
  }
};

// Paired differences of two rows, one cell per split.
std::string paired_cells(const DigitsRow& a, const DigitsRow& b, const std::vector<Split>& splits, TQuantile& tq) {
  std::string cells;
  for (const Split& s : splits) {
    const PairedDifference p = paired_difference(a.*s.values, b.*s.values);
    tq.note(p);
    cells += " " + interval(p) + ", " + std::to_string(p.wins) + " of " + std::to_string(p.n()) + " |";
  }
  return cells;
}

// The premise: does the prior hold what the target needs (frozen > no prior), and does synthetic
// training wear it away (frozen > baseline, as ImageNet's frozen 53.3 > 49.3 in the paper)?
void write_premise(std::ostream& os, const std::vector<Split>& splits, const std::vector<DigitsRow>& rows, size_t n,
                   TQuantile& tq) {
  const DigitsRow *frozen = find_row(rows, "prior-frozen"), *random = find_row(rows, "random-init"),
                  *base = find_row(rows, "baseline");
  struct Comparison {
    const DigitsRow *a, *b;
    const char* what;
  };
  const Comparison premise[] = {
      {frozen, random, "prior, frozen - random init (the prior holds what the target needs: > 0)"},
      {base, random, "baseline - random init (what the prior adds when trained on)"},
      {frozen, base, "prior, frozen - baseline (synthetic training wears the prior away: > 0)"}};
  bool header = false;
  for (const Comparison& c : premise) {
    if (!complete(c.a, n) || !complete(c.b, n)) continue;
    if (!header) {
      os << "\nPremise check, paired by seed (points; mean [95% CI], wins):\n\n" << split_header("comparison", splits);
      header = true;
    }
    os << "| " << c.what << " |" << paired_cells(*c.a, *c.b, splits, tq) << "\n";
  }
}

// CSG - baseline seed by seed, the mean with its interval, and the wins.
void write_csg_against_baseline(std::ostream& os, const std::vector<Split>& splits, const DigitsRow& base,
                                const DigitsRow& csg, const std::vector<uint64_t>& seeds, TQuantile& tq) {
  os << "\nPaired by seed, CSG - baseline (points):\n\n| seed |";
  for (const Split& s : splits) os << " " << s.title << ": baseline | CSG | CSG - baseline |";
  os << "\n|---|";
  for (size_t i = 0; i < splits.size(); ++i) os << "---|---|---|";
  os << "\n";
  std::vector<PairedDifference> diffs;
  for (const Split& s : splits) diffs.push_back(paired_difference(csg.*s.values, base.*s.values));
  for (size_t i = 0; i < seeds.size(); ++i) {
    os << "| " << seeds[i] << " |";
    for (size_t k = 0; k < splits.size(); ++k)
      os << " " << fixed((base.*splits[k].values)[i], 2) << " | " << fixed((csg.*splits[k].values)[i], 2) << " | "
         << fixed(diffs[k].differences[i], 2, true) << " |";
    os << "\n";
  }
  os << "| mean [95% CI] |";
  for (const PairedDifference& d : diffs) {
    os << " | | " << interval(d) << " |";
    tq.note(d);
  }
  os << "\n| CSG wins |";
  for (const PairedDifference& d : diffs) os << " | | " << d.wins << " of " << d.n() << " |";
  os << "\n";
}

// Each of Table 1's regularizers against the same baseline, paired by seed.
void write_regularizers(std::ostream& os, const std::vector<Split>& splits, const std::vector<DigitsRow>& rows,
                        size_t n, TQuantile& tq) {
  const DigitsRow* base = find_row(rows, "baseline");
  bool header = false;
  for (const DigitsRow& r : rows) {
    if (r.key == "prior" || r.key == "baseline" || r.key == "csg" || r.key == "prior-frozen" ||
        r.key == "random-init" || !complete(&r, n) || !complete(base, n))
      continue;
    if (!header) {
      os << "\nPaired by seed, model - baseline (points; mean [95% CI], wins):\n\n" << split_header("model", splits);
      header = true;
    }
    os << "| " << r.model << " |" << paired_cells(r, *base, splits, tq) << "\n";
  }
}

}  // namespace

std::string digits_table(const DigitsConfig& dc, const DigitsSettings& set, const std::vector<DigitsRow>& rows,
                         const std::vector<uint64_t>& seeds) {
  CSG_CHECK(!rows.empty() && rows[0].key == "prior", "digits_table: the first row must be the prior's");
  for (const DigitsRow& r : rows)
    CSG_CHECK(r.key == "prior" || r.fonts_acc.empty() || (r.fonts_acc.size() == seeds.size() &&
                                                           r.val_acc.size() == seeds.size() &&
                                                           r.acc.size() == (dc.validation_only ? 0 : seeds.size())),
              "digits_table: ", r.model, " has ", r.fonts_acc.size(), " accuracies for ", seeds.size(), " seeds");
  const std::vector<Split> splits = splits_of(dc);
  std::ostringstream os;
  write_heading(os, dc, set, seeds);
  write_model_rows(os, dc, splits, rows);
  if (seeds.empty()) return os.str();
  const size_t n = seeds.size();
  TQuantile tq;
  write_premise(os, splits, rows, n, tq);
  const DigitsRow *base = find_row(rows, "baseline"), *csg = find_row(rows, "csg");
  if (complete(base, n) && complete(csg, n)) write_csg_against_baseline(os, splits, *base, *csg, seeds, tq);
  write_regularizers(os, splits, rows, n, tq);
  if (tq.df > 0)
    os << "\n(95% CI: mean +- t * std / sqrt(n), Student t with " << tq.df << " df, t = " << fixed(tq.t, 3) << ")\n";
  return os.str();
}

}  // namespace csg::train
