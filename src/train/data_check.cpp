// src/train/data_check.cpp — see data_check.h.
#include "src/train/data_check.h"

#include <cstdio>

#include "csg/progress.h"

namespace csg::train {

std::vector<data::DataCheckReport> check_run_data(const Config& cfg, bool need_val) {
  data::CheckOptions opt;
  opt.quiet = cfg.quiet;
  std::vector<data::DataCheckReport> reports;
  if (cfg.task == Task::Visda) {
    std::vector<std::string> splits = {cfg.train_split};
    if (need_val && cfg.val_split != cfg.train_split) splits.push_back(cfg.val_split);
    reports.push_back(data::check_visda(cfg.data, splits, opt));
  } else {
    reports.push_back(data::check_gta5(cfg.data, cfg.train_list, opt));
    if (need_val && !cfg.val_data.empty()) reports.push_back(data::check_cityscapes(cfg.val_data, "val", opt));
  }
  return reports;
}

void decide_on_data(const std::vector<data::DataCheckReport>& reports, const Config& cfg) {
  int64_t samples = 0, problems = 0, list_errors = 0;
  std::string text, summary;
  for (const data::DataCheckReport& r : reports) {
    samples += r.samples();
    problems += r.problems();
    list_errors += r.problems_of(data::ProblemKind::BadListLine) + r.problems_of(data::ProblemKind::LabelOutOfRange);
    text += r.text();
    summary += (summary.empty() ? "" : "; ") + r.data_set + ":";
    for (const data::SplitCheck& s : r.splits) summary += " " + s.name + " " + format_count(s.samples);
  }
  if (problems == 0) {
    if (!cfg.quiet)
      std::fprintf(stderr, "data check: %s images, no problems (lists and image headers; `csg check-data --decode` "
                   "decodes every file)\n", summary.c_str());
    return;
  }
  const bool stop = list_errors > 0 || cfg.data_check == DataCheck::Stop || (cfg.data_check == DataCheck::Auto && samples < kLargeDataSet);
  const char* const kLoader = "the loader replaces each unreadable training image with another sample, and "
                              "evaluation skips it";
  if (stop)
    CSG_FAIL("the data check before the first step found problems:\n", text,
             list_errors > 0 ? "A list line the loader cannot use stops every run: fix the list."
             : cfg.data_check == DataCheck::Stop
                 ? "--data-check stop: fix the files, or train anyway with --data-check warn (" + std::string(kLoader) + ")."
                 : "In a set of under " + format_count(kLargeDataSet) + " samples that stops the run: fix the files, " +
                       "or train anyway with --data-check warn (" + kLoader + ").");
  std::fprintf(stderr, "warning: the data check before the first step found problems:\n%straining goes on (%s; "
               "--data-check stop stops instead)\n", text.c_str(), kLoader);
}

}  // namespace csg::train
