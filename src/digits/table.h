// src/digits/table.h — the digits benchmark's result table, in Markdown: per model the
// energies and accuracies (mean +- std over seeds), the premise check (the prior frozen against
// no prior and against the baseline), then CSG - baseline per seed with the mean difference, its
// 95% Student-t interval and the seeds CSG wins, under lines naming the budget, the settings and
// the CPU and BLAS kernels that produced it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/digits/benchmark.h"

namespace csg::train {

// rows = {prior, prior-frozen, random-init, baseline, csg, then one per regularizer} as run_digits
// fills them (a model not trained has no entries and no line); seeds = the training seeds in
// order (one entry per element of a trained row's vectors). `settings`: the resolved lr, EMA and
// queue, named in the header.
std::string digits_table(const DigitsConfig& cfg, const DigitsSettings& settings, const std::vector<DigitsRow>& rows,
                         const std::vector<uint64_t>& seeds);

// "m +- s" (sample std) with `precision` decimals; "m" for one value; "-" for none.
std::string mean_std(const std::vector<double>& values, int precision);

}  // namespace csg::train
