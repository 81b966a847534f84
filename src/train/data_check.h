// src/train/data_check.h — the fast pass of `csg check-data` over the data a run reads, made
// before the run folder and the first step: what it finds is named, and decides whether the
// run starts (Config::data_check).
#pragma once
#include <cstdint>
#include <vector>

#include "csg/data/check.h"
#include "csg/train.h"

namespace csg::train {

// With data_check "auto", a set of fewer samples than this stops on any problem (a few files
// out of a few dozen is a broken copy); a larger one warns and trains on.
constexpr int64_t kLargeDataSet = 1000;

// The data sets the run reads: its training set, and its target split when `need_val`.
std::vector<data::DataCheckReport> check_run_data(const Config& cfg, bool need_val);

// Prints what `reports` found (one line when nothing) and throws, naming the problems and the
// fix, when the run must not start: a list line the loader cannot use (always), any problem
// under "stop", or under "auto" any in fewer than kLargeDataSet samples.
void decide_on_data(const std::vector<data::DataCheckReport>& reports, const Config& cfg);

}  // namespace csg::train
