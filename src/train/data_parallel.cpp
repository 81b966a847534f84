// src/train/data_parallel.cpp — the collectives of a data-parallel CSG step.
#include "src/train/data_parallel.h"

#include <csignal>
#include <cstdlib>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "src/train/csg_step.h"

namespace csg::train {

void check_data_parallel_config(const Config& cfg, int ranks) {
  if (ranks == 1) return;
  CSG_CHECK(cfg.batch_size % ranks == 0, "--batch-size ", cfg.batch_size, " is the global batch and must split evenly over the ",
            ranks, " processes: use a multiple of ", ranks);
  CSG_CHECK(cfg.task != Task::Gta5 || cfg.seg_head != SegHead::AsppCsg, "--seg-head aspp-csg trains its BatchNorm layers on batch "
            "statistics, which would differ between the ", ranks, " processes (csg has no synchronised BN); use --seg-head "
            "aspp-v2 (no BN) or one process");
}

DataParallel::DataParallel() : comm_(&dist::single_process()) {}

DataParallel::DataParallel(dist::Communicator& comm, const std::vector<Tensor>& params) : comm_(&comm) {
  if (comm.size() > 1) grads_ = std::make_unique<dist::GradientAverager>(comm, params);
  const char* v = std::getenv("CSG_DEBUG_LOCAL_KEYS");
  local_keys_only_ = v != nullptr && std::string(v) == "1";
}

DataParallel& one_process() {
  static DataParallel p;
  return p;
}

void DataParallel::backward(const Tensor& loss) {
  if (grads_)
    grads_->backward(loss);
  else
    loss.backward();
}

Tensor DataParallel::gather_keys(const Tensor& keys, int64_t groups) {
  if (ranks() == 1 || local_keys_only_) return keys;
  NoGradGuard no_grad;
  const int64_t n = keys.size(0) / groups, d = keys.size(1);
  Tensor all = comm_->all_gather(keys.contiguous());         // [ranks*G*n, D], rank-major
  return all.view({ranks(), groups, n, d}).permute({1, 0, 2, 3}).reshape({groups * ranks() * n, d});  // group-major
}

double DataParallel::task_loss_share(const Tensor& labels, int64_t ignore_index, int64_t* labelled_everywhere) {
  if (labels.dim() == 1 || (ranks() == 1 && labelled_everywhere == nullptr)) return 1.0;
  double labelled = 0;
  const Tensor l = labels.device() == Device::CPU ? labels.contiguous() : labels.to(Device::CPU);
  const int64_t* p = l.data<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i) labelled += p[i] != ignore_index;
  std::vector<double> total = {labelled};
  if (ranks() > 1) comm_->all_reduce_sum(total);
  if (labelled_everywhere) *labelled_everywhere = static_cast<int64_t>(total[0]);
  if (ranks() == 1) return 1.0;
  return total[0] > 0 ? labelled * ranks() / total[0] : 1.0;
}

int DataParallel::average_and_agree_stop(StepResult& r, int signal_here) {
  if (ranks() == 1) return signal_here;
  std::vector<double> v = {signal_here == SIGTERM ? 1.0 : 0.0, signal_here != 0 ? 1.0 : 0.0, r.total, r.task, r.reg};
  for (auto& [l, x] : r.nce) v.push_back(x);
  for (auto& [l, x] : r.nce_top1) v.push_back(x);
  comm_->all_reduce_sum(v);
  const double inv = 1.0 / ranks();
  size_t i = 2;
  r.total = v[i++] * inv;
  r.task = v[i++] * inv;
  r.reg = v[i++] * inv;
  for (auto& [l, x] : r.nce) x = v[i++] * inv;
  for (auto& [l, x] : r.nce_top1) x = v[i++] * inv;
  return v[0] > 0 ? SIGTERM : v[1] > 0 ? SIGINT : 0;
}

std::string on_root(dist::Communicator& comm, const std::function<std::string()>& fn) {
  if (comm.size() == 1) return fn();
  std::string text = "ok\n";
  if (comm.rank() == 0) {
    try {
      text += fn();
    } catch (const std::exception& e) {
      text = std::string("error\n") + e.what();
    }
  }
  text = comm.broadcast_text(text);
  if (text.rfind("error\n", 0) == 0) CSG_FAIL(text.substr(6), comm.rank() == 0 ? "" : " (reported by rank 0)");
  return text.substr(3);
}

}  // namespace csg::train
