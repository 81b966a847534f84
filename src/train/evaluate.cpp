// src/train/evaluate.cpp — evaluation of f_e on the target domain, and the `csg eval` / `csg hse`
// entry points.
#include "src/train/evaluate.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "csg/autograd.h"
#include "csg/distributed.h"
#include "csg/metrics.h"
#include "csg/progress.h"
#include "src/train/data_setup.h"
#include "src/train/flip_tta.h"
#include "src/train/state.h"

namespace csg::train {

namespace {

// A non-owning shared_ptr for the loader, which shares data sets with the caller.
std::shared_ptr<const data::Dataset> borrow(const data::Dataset& d) {
  return std::shared_ptr<const data::Dataset>(&d, [](const data::Dataset*) {});
}

data::LoaderOptions eval_loader_options(const Config& cfg, int ranks = 1, int rank = 0) {
  data::LoaderOptions lo;
  // Cityscapes: whole images, one at a time per process.
  const int64_t per_rank = cfg.task == Task::Visda ? std::max<int64_t>(1, cfg.batch_size / ranks) : 1;
  lo.batch_size = per_rank * ranks;  // several processes: each evaluates its shard of every batch
  lo.shard = rank;
  lo.shard_count = ranks;
  lo.num_workers = cfg.workers;
  lo.on_error = data::OnError::Skip;
  return lo;
}

// Several processes: every rank's counts summed, so each holds the whole validation set's.
template <class Counts>
void sum_over_ranks(dist::Communicator& comm, Counts& counts) {
  if (comm.size() == 1) return;
  const std::vector<int64_t> mine = counts.count_vector();
  std::vector<double> all(mine.begin(), mine.end());  // exact: counts stay far below 2^53
  comm.all_reduce_sum(all);
  counts.reset();
  counts.add_counts(std::vector<int64_t>(all.begin(), all.end()));
}

}  // namespace

double evaluate(const Config& cfg, CsgNetwork& net, const data::Dataset& val, const data::Transform& transform,
                Device dev) {
  NoGradGuard no_grad;
  net.set_eval_modes();
  dist::Communicator& comm = dist::world();
  data::DataLoader loader(borrow(val), transform, eval_loader_options(cfg, comm.size(), comm.rank()));
  loader.start_epoch(0);
  ProgressBar progress("eval", loader.batches_per_epoch(), cfg.quiet || comm.rank() != 0);  // in batches
  int64_t done = 0;
  double metric = 0;
  if (cfg.task == Task::Visda) {
    ClassAccuracy acc = cfg.num_classes == 12 ? ClassAccuracy::visda() : ClassAccuracy(cfg.num_classes);
    auto forward = [&](const Tensor& x) {
      models::ResNetFeatures f;
      return net.task_logits(x.to(dev), &f);
    };
    while (auto batch = loader.next()) {
      acc.add(flip_tta_scores(forward, batch->views[0], cfg.flip_tta), batch->labels);
      progress.update(++done);
    }
    sum_over_ranks(comm, acc);
    if (comm.rank() == 0) std::printf("%s", acc.table().c_str());
    metric = acc.mean_accuracy();
  } else {
    ConfusionMatrix cm = cfg.num_classes == 19 ? ConfusionMatrix::cityscapes() : ConfusionMatrix(cfg.num_classes);
    while (auto batch = loader.next()) {
      models::ResNetFeatures f;
      cm.add(net.task_logits(batch->views[0].to(dev), &f), batch->labels);
      progress.update(++done);
    }
    sum_over_ranks(comm, cm);
    if (comm.rank() == 0) std::printf("%s", cm.table().c_str());
    metric = cm.mean_iou();
  }
  // A metric over no image would print as 0.00, a result; it is an error.
  CSG_CHECK(loader.skipped_total() < val.size(), "evaluation: none of the ", val.size(),
            " target images could be read and transformed (see the warnings above); no metric to report");
  if (loader.skipped_total() > 0)
    std::fprintf(stderr, "warning: %lld of %lld evaluation images could not be read and were skipped; the metric "
                 "covers the rest\n", static_cast<long long>(loader.skipped_total()), static_cast<long long>(val.size()));
  return metric;
}

double run_evaluation(const Config& cfg, const std::string& checkpoint) {
  apply_backend_settings(cfg);
  const Device dev = parse_device(cfg.device);
  TaskData d = open_task_data(cfg, /*need_train=*/false, /*need_val=*/true);
  Config c = cfg;
  c.csg = c.csg && !checkpoint.empty();
  CsgNetwork net(c, conv_numerics(c, dev, /*training=*/false));
  if (!checkpoint.empty()) load_network_weights(checkpoint, net);
  net.to_device(dev);
  return evaluate(c, net, *d.val, d.val_transform, dev);
}

PooledFeatures pooled_layer4_features(const Config& cfg, const std::string& checkpoint, int64_t max_images) {
  apply_backend_settings(cfg);
  const Device dev = parse_device(cfg.device);
  TaskData d = open_task_data(cfg, /*need_train=*/false, /*need_val=*/true);
  CSG_CHECK(cfg.task == Task::Visda, "hse: features are measured on the VisDA validation images");
  CsgNetwork net(cfg, conv_numerics(cfg, dev, /*training=*/false));
  if (!checkpoint.empty()) load_network_weights(checkpoint, net);
  net.to_device(dev);
  net.set_eval_modes();
  NoGradGuard no_grad;
  data::LoaderOptions lo = eval_loader_options(cfg);
  data::DataLoader loader(borrow(*d.val), d.val_transform, lo);
  loader.start_epoch(0);
  std::vector<Tensor> feats;
  PooledFeatures out;
  const int64_t wanted = max_images > 0 ? std::min<int64_t>(max_images, d.val->size()) : d.val->size();
  ProgressBar progress("layer4 features (images)", wanted, cfg.quiet);
  int64_t n = 0;
  while (auto batch = loader.next()) {
    if (max_images > 0 && n >= max_images) break;
    models::ResNetFeatures f = net.encoder_q->forward_features(batch->views[0].to(dev));
    feats.push_back(global_avg_pool(f.layer[3]).to(Device::CPU));  // [B, 2048] pooled layer4
    for (double label : batch->labels.to_vector()) out.labels.push_back(static_cast<int64_t>(label));
    n += batch->size();
    progress.update(std::min(n, wanted));
  }
  CSG_CHECK(!feats.empty(), "hse: no validation images were read");
  out.features = cat(feats, 0);
  if (max_images > 0 && out.features.size(0) > max_images) {
    out.features = out.features.slice(0, 0, max_images);
    out.labels.resize(max_images);
  }
  return out;
}

std::vector<double> run_hse(const Config& cfg, const std::string& checkpoint, int64_t max_images) {
  HypersphericalEnergies e = hyperspherical_energies(pooled_layer4_features(cfg, checkpoint, max_images).features);
  return {e.e0, e.e1, e.e2};
}

}  // namespace csg::train
