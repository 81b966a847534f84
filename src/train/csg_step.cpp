// src/train/csg_step.cpp — one CSG training step, read top to bottom as the paper's Figure 3.
//
//   synthetic image x ─┬─ T(x) = x_q ─> f_e  ─> task head ─> task loss (CE)
//                      │                  └─> layer l ─> pool ─> h  ─> z_q ┐
//                      └─ T(x) = x_k ─> f_eo ─> layer l ─> pool ─> h~ ─> z_k ┼─> InfoNCE(z_q, z_k, queue_l)
//                                                                   queue_l ┘
//   loss = task loss + lambda * sum over layers l of InfoNCE_l;  SGD;  h~ <- EMA(h);  queue_l <- z_k
//
// Table 1's baselines replace the InfoNCE terms by one regularizer (cfg.regularizer):
//   loss = task loss + reg_weight * R,  R = weight-l2 | feature-l2 | synaptic-intelligence | asg-kl
//
// What this file is not: data loading, logging and checkpoints live in trainer.cpp; the
// modules are built in network.cpp; the ops (A-pool, InfoNCE, ...) in src/method/.
#include "src/train/csg_step.h"

#include <array>
#include <optional>

#include "csg/autograd.h"
#include "csg/method.h"
#include "csg/method/regularizers.h"
#include "csg/ops.h"

namespace csg::train {

namespace {

// g(.) of the paper: A-pool with attention from `attention_source`, or global average pooling.
Tensor pool(const Tensor& values, const Tensor& attention_source, bool apool) {
  return apool ? method::attentional_pool(values, attention_source) : global_avg_pool(values);
}

// The stages whose outputs the no-grad passes hand on: the layer groups of InfoNCE and, for
// Table 1's feature baselines, layer 4.
std::array<bool, 4> stages_read(const Config& cfg) {
  std::array<bool, 4> wanted{};
  for (int l : cfg.layers) wanted[l - 1] = true;
  if (cfg.regularizer == Regularizer::FeatureL2 || cfg.regularizer == Regularizer::AsgKl) wanted[3] = true;
  return wanted;
}

// ---- 1b. Table 1's baselines: one regularizer towards the ImageNet model (undefined: none) ---------
Tensor baseline_regularizer(CsgNetwork& net, const Config& cfg, const StepInput& in,
                            const models::ResNetFeatures& f_q) {
  if (cfg.regularizer == Regularizer::WeightL2) return method::weight_l2_distance(net.regularized, net.reference);
  if (cfg.regularizer == Regularizer::SynapticIntelligence) {
    CSG_CHECK(net.si != nullptr, "synaptic-intelligence: the network's state is made by CsgNetwork::to_device");
    return net.si->penalty();
  }
  if (cfg.regularizer != Regularizer::FeatureL2 && cfg.regularizer != Regularizer::AsgKl) return Tensor();
  // f_eo on the same image as f_e
  const models::ResNetFeatures f_o = net.features_without_grad(*net.encoder_k, in.x_q, stages_read(cfg));
  Tensor pooled = global_avg_pool(f_q.layer[3]), pooled_o = global_avg_pool(f_o.layer[3]);
  if (cfg.regularizer == Regularizer::FeatureL2) return method::feature_l2_distance(pooled, pooled_o);
  Tensor old_logits;
  {
    NoGradGuard no_grad;
    old_logits = net.imagenet_fc->forward(pooled_o);
  }
  return method::asg_kl_divergence(net.imagenet_fc->forward(pooled), old_logits);
}

// The InfoNCE terms of every layer group, their ranking hits, and the keys the queues take.
struct ContrastiveTerms {
  std::map<int, Tensor> new_keys, nce, ranks;
};

// Steps 2-4 of Figure 3; adds lambda x InfoNCE_l to `loss` layer by layer.
ContrastiveTerms contrastive_terms(CsgNetwork& net, const Config& cfg, const StepInput& in,
                                   const models::ResNetFeatures& f_q, Tensor& loss) {
  ContrastiveTerms t;
  models::ResNetFeatures f_k, f_attention;
  {
    NoGradGuard no_grad;
    // ---- 2. model augmentation: the key heads h~ follow the query heads h (EMA) --------
    for (auto& [l, h] : net.heads_q)
      method::ema_update(net.heads_k[l]->all_parameters(), h->all_parameters(), cfg.ema_momentum);
  }
  // ---- 3. the frozen ImageNet model f_eo sees the key view ----------------------------
  // (Both passes take no gradient: on the CPU they run as the inference engine runs a network.)
  f_k = net.features_without_grad(*net.encoder_k, in.x_k, stages_read(cfg));
  // A-pool's attention for the keys comes from f_e (adapted to the task) on the same view.
  if (cfg.apool) f_attention = net.features_without_grad(*net.encoder_q, in.x_k, stages_read(cfg));
  // ---- 4. per layer group: embeddings, InfoNCE against the queue of past keys ----------
  for (int l : cfg.layers) {
    Tensor fq = method::chunk_patches(f_q.layer[l - 1], cfg.chunks);  // dense NCE: 8x8 patches
    Tensor q = l2_normalize(net.heads_q[l]->forward(pool(fq, fq, cfg.apool)), 1);
    Tensor k;
    {
      NoGradGuard no_grad;
      Tensor fk = method::chunk_patches(f_k.layer[l - 1], cfg.chunks);
      Tensor fa = cfg.apool ? method::chunk_patches(f_attention.layer[l - 1], cfg.chunks) : fk;
      k = l2_normalize(net.heads_k[l]->forward(pool(fk, fa, cfg.apool)), 1);
    }
    Tensor nce_logits = method::info_nce_logits(q, k, net.queues[l]->keys(), cfg.temperature);
    Tensor nce = method::info_nce_loss(nce_logits);
    loss = add(loss, mul(nce, cfg.lambda));
    t.nce[l] = nce.detach();
    t.ranks[l] = argmax(nce_logits.detach(), 1);  // column 0 (the positive key) is a hit
    t.new_keys[l] = k;
  }
  return t;
}

// ---- 7. the figures for the log, read back once all of the step's work is queued ---------
// (On CUDA a read waits for the device; one in the middle of the step would stall the queue.)
StepResult read_figures(const Tensor& loss, const Tensor& task_loss, const Tensor& reg_term,
                        const ContrastiveTerms& terms) {
  StepResult r;
  r.total = loss.item();
  r.task = task_loss.item();
  if (reg_term.defined()) r.reg = reg_term.item();
  for (auto& [l, nce] : terms.nce) {
    r.nce[l] = nce.item();
    // "ranking accuracy": how often the positive key is the closest of all.
    const std::vector<double> top = terms.ranks.at(l).to_vector();
    double hits = 0;
    for (double t : top) hits += t == 0;
    r.nce_top1[l] = hits / std::max<size_t>(top.size(), 1);
  }
  return r;
}

}  // namespace

StepResult csg_step(CsgNetwork& net, const Config& cfg, optim::SGD& sgd, double lr_scale, const StepInput& in,
                    DataParallel& parallel) {
  // Until the SGD step, no weight changes: the query encoder, which on the training ops sees both
  // views (the second for A-pool's attention), converts its weights for the backend once (see
  // ops.h), and its backward pass may read those copies too.
  std::optional<ConvWeightsReuseScope> reuse_converted_weights(std::in_place);

  // ---- 1. the task: f_e on the query view, supervised by the synthetic labels -------------
  models::ResNetFeatures f_q;
  Tensor logits = net.task_logits(in.x_q, &f_q);
  Tensor task_loss = cross_entropy(logits, in.labels, net.segmentation() ? 255 : -100);
  if (in.task_loss_share != 1.0) task_loss = mul(task_loss, in.task_loss_share);  // several ranks: see StepInput
  Tensor loss = task_loss;
  const Tensor reg_term = baseline_regularizer(net, cfg, in, f_q);  // 1b. Table 1's baselines
  if (reg_term.defined()) loss = add(loss, mul(reg_term, cfg.reg_weight));
  // ---- 2-4. the contrastive terms: lambda x InfoNCE per layer group ----------------------
  const ContrastiveTerms terms = cfg.csg ? contrastive_terms(net, cfg, in, f_q, loss) : ContrastiveTerms();

  // ---- 5. backward and the SGD step ---------------------------------------------------------
  sgd.zero_grad();
  parallel.backward(loss);  // several ranks: gradients averaged over them, as one global batch
  reuse_converted_weights.reset();  // the weights change from here on
  if (net.si) net.si->before_step();
  sgd.step(lr_scale);
  if (net.si) net.si->after_step(cfg.reg_weight);  // the path integral: omega += -g_task * delta_w

  // ---- 6. the keys join their queues as negatives for later steps ----------------------------
  // (The reference enqueues right after forming the logits; the queue was saved for backward,
  // so we enqueue after it. Nothing reads the queue in between: the result is the same.)
  // Several ranks: every rank enqueues the keys of all, in the global batch's order.
  for (auto& [l, k] : terms.new_keys) net.queues[l]->enqueue(parallel.gather_keys(k, cfg.chunks * cfg.chunks));

  return read_figures(loss, task_loss, reg_term, terms);  // 7.
}

}  // namespace csg::train
