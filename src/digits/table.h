// src/digits/table.h — the digits benchmark's result table, in Markdown: per model the
// energies and accuracies (mean +- std over seeds), then CSG - baseline per seed with the mean
// difference, its 95% Student-t interval and the seeds CSG wins, under a line naming the CPU and
// BLAS kernels that produced it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/digits/benchmark.h"

namespace csg::train {

// rows = {prior, baseline, CSG, then one per regularizer} as run_digits fills them; seeds = the training seeds in order
// (one entry per element of the baseline's and CSG's vectors).
std::string digits_table(const DigitsConfig& cfg, const std::vector<DigitsRow>& rows,
                         const std::vector<uint64_t>& seeds);

// "m +- s" (sample std) with `precision` decimals; "m" for one value; "-" for none.
std::string mean_std(const std::vector<double>& values, int precision);

}  // namespace csg::train
