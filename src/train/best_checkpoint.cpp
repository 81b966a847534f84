// src/train/best_checkpoint.cpp — see best_checkpoint.h.
#include "src/train/best_checkpoint.h"

#include <cstdlib>

#include "src/train/settings.h"

namespace csg::train {

void BestCheckpoint::restore(const std::map<std::string, std::string>& meta) {
  auto m = meta.find("best.metric"), s = meta.find("best.step"), p = meta.find("best.path");
  if (m == meta.end() || s == meta.end()) return;
  const double metric = std::strtod(m->second.c_str(), nullptr);
  if (metric <= best_.metric) return;
  best_.metric = metric;
  best_.step = std::atoll(s->second.c_str());
  best_.path = p == meta.end() ? path_ : p->second;
}

bool BestCheckpoint::offer(double metric, int64_t step, const std::function<Checkpoint()>& make) {
  if (metric <= best_.metric) return false;  // ties keep the earlier checkpoint
  best_ = {metric, step, path_};
  save_checkpoint(path_, make());
  return true;
}

void BestCheckpoint::add_to(std::map<std::string, std::string>& meta) const {
  if (best_.step < 0) return;
  meta["best.metric"] = format_number(best_.metric);
  meta["best.step"] = std::to_string(best_.step);
  meta["best.path"] = best_.path;
}

}  // namespace csg::train
