// src/train/state.cpp — training checkpoints: tensors "net.*", "optim.<i>", "queue.<l>";
// metadata: step, queue pointers, generator state, and the configuration it was trained with.
#include "src/train/state.h"

#include "csg/io/checkpoint.h"
#include "csg/random.h"
#include "src/infer/training_info.h"
#include "src/train/settings.h"

namespace csg::train {

namespace {

std::string layers_string(const Config& cfg) {
  std::string s;
  for (int l : cfg.layers) s += (s.empty() ? "" : ",") + std::to_string(l);
  return s;
}

bool stored(const std::string& name) { return name.rfind("encoder_k.", 0) != 0; }  // f_eo is reloaded

// Checkpoints written before settings were recorded ("config.*") name only these.
void expect_same(const std::map<std::string, std::string>& meta, const std::string& path, const std::string& key,
                 const std::string& ours) {
  auto it = meta.find(key);
  CSG_CHECK(it != meta.end() && it->second == ours, path, ": trained with ", key, " = ",
            it == meta.end() ? "(unknown)" : it->second, ", this run has ", ours,
            "; resume with the same settings");
}

}  // namespace

void check_resume_settings(const std::string& path, const std::map<std::string, std::string>& meta,
                           const Config& cfg) {
  check_checkpoint_task(meta, path, cfg.task, "resume");
  // f_eo is not stored: a resume reloads it from --weights, so a run begun from random
  // initialisation must not get ImageNet weights (now the default) there, nor the reverse.
  auto weights = meta.find("weights");
  if (weights != meta.end() && weights->second.empty() != cfg.weights.empty())
    CSG_FAIL(path, ": the run started from ",
             weights->second.empty() ? "random initialisation" : "the weights " + weights->second,
             " and this resume ", cfg.weights.empty() ? "has none" : "loads " + cfg.weights,
             " into the frozen ImageNet copy f_eo; resume with ",
             weights->second.empty() ? "--weights none" : "--weights " + weights->second);
  if (meta.count("config.task") == 0) {
    expect_same(meta, path, "task", task_name(cfg.task));
    expect_same(meta, path, "arch", name_of(cfg.arch));
    expect_same(meta, path, "csg", cfg.csg ? "1" : "0");
    expect_same(meta, path, "layers", layers_string(cfg));
    expect_same(meta, path, "seed", std::to_string(cfg.seed));
    return;
  }
  const std::vector<std::string> diffs = resume_differences(meta, cfg);
  if (diffs.empty()) return;
  std::string listed, keys;
  for (const std::string& d : diffs) {
    listed += "\n  " + d;
    keys += (keys.empty() ? "" : ",") + d.substr(0, d.find(':'));
  }
  CSG_FAIL(path, ": this run's settings differ from the checkpoint's in what the run computes (checkpoint -> now):",
           listed, "\nResume with the checkpoint's settings, or, if the change is intended, name it: --allow-change ",
           keys);
}

Checkpoint training_checkpoint(const Config& cfg, const CsgNetwork& net, optim::SGD& sgd, int64_t step,
                               const std::string& run_id, const std::map<std::string, std::string>& extra) {
  Checkpoint c;
  c.meta = settings_metadata(cfg);
  for (const auto& [k, v] : extra) c.meta[k] = v;
  c.meta["run_id"] = run_id;
  for (const NamedTensor& t : net.state_dict())
    if (stored(t.name)) c.tensors.push_back({"net." + t.name, t.tensor});
  const std::vector<Tensor>& bufs = sgd.momentum_buffers();
  for (size_t i = 0; i < bufs.size(); ++i)
    if (bufs[i].defined()) c.tensors.push_back({"optim." + std::to_string(i), bufs[i]});
  for (const auto& [l, q] : net.queues) {
    c.tensors.push_back({"queue." + std::to_string(l), q->keys()});
    c.meta["queue_pointer." + std::to_string(l)] = std::to_string(q->pointer());
  }
  if (net.si) {  // synaptic-intelligence: the path integral so far, for an exact resume
    const std::vector<Tensor>& omega = net.si->path_integral();
    for (size_t i = 0; i < omega.size(); ++i) c.tensors.push_back({"si_omega." + std::to_string(i), omega[i]});
  }
  c.meta["step"] = std::to_string(step);
  c.meta["task"] = task_name(cfg.task);
  c.meta["arch"] = name_of(cfg.arch);
  c.meta["csg"] = cfg.csg ? "1" : "0";
  c.meta["layers"] = layers_string(cfg);
  c.meta["weights"] = cfg.weights;
  c.meta["seed"] = std::to_string(cfg.seed);
  c.meta["generator_seed"] = std::to_string(default_generator().seed());
  c.meta["generator_offset"] = std::to_string(default_generator().offset());
  // What export and predict need to rebuild f_e and its task head without flags.
  c.meta["width"] = std::to_string(cfg.width);
  c.meta["image_size"] = std::to_string(cfg.image_size);
  c.meta["num_classes"] = std::to_string(cfg.num_classes);
  c.meta["seg_head"] = name_of(cfg.seg_head);
  c.meta["model"] = infer::model_info_to_json(infer::training_model_info(cfg));
  return c;
}

std::string save_training_state(const Config& cfg, const CsgNetwork& net, optim::SGD& sgd, int64_t step,
                                const std::string& run_id, const std::map<std::string, std::string>& extra) {
  const std::string path = checkpoint_path(cfg.out_dir, "csg", step);
  save_checkpoint(path, training_checkpoint(cfg, net, sgd, step, run_id, extra));
  return path;
}

void load_network_weights(const std::string& path, CsgNetwork& net) { load_network_weights(load_checkpoint(path), net); }

void load_network_weights(const Checkpoint& c, CsgNetwork& net) {
  const std::string& path = c.path;
  std::vector<NamedTensor> weights;
  for (const NamedTensor& t : c.tensors)
    if (t.name.rfind("net.", 0) == 0) weights.push_back({t.name.substr(4), t.tensor});
  CSG_CHECK(!weights.empty(), path, ": holds no network weights");
  nn::Module::LoadReport rep = net.load_state_dict(weights, /*strict=*/false, path);
  for (const std::string& m : rep.missing)
    CSG_CHECK(!stored(m), path, ": no weights for ", m, " (saved by another architecture or --layers?)");
  CSG_CHECK(rep.unexpected.empty(), path, ": ", rep.unexpected.size(), " tensors this network does not have (first: ",
            rep.unexpected.empty() ? "" : rep.unexpected[0], "); check --arch and --layers");
}

int64_t restore_training_state(const std::string& path, const Config& cfg, CsgNetwork& net, optim::SGD& sgd) {
  Checkpoint c = load_checkpoint(path);
  check_resume_settings(path, c.meta, cfg);
  load_network_weights(c, net);
  std::vector<Tensor>& bufs = sgd.momentum_buffers();
  size_t k = 0;
  for (const optim::ParamGroup& g : sgd.groups())
    for (const Tensor& p : g.params) {
      const std::string name = "optim." + std::to_string(k);
      for (const NamedTensor& t : c.tensors)
        if (t.name == name) bufs[k] = t.tensor.to(p.device());
      ++k;
    }
  for (auto& [l, q] : net.queues)
    q->restore(c.tensor("queue." + std::to_string(l)).to(q->keys().device()),
               c.int_value("queue_pointer." + std::to_string(l)));
  if (net.si) {
    std::vector<Tensor> omega;
    for (size_t i = 0; i < net.si->path_integral().size(); ++i)
      omega.push_back(c.tensor("si_omega." + std::to_string(i)).to(net.si->path_integral()[i].device()));
    net.si->restore(omega);
  }
  default_generator().set_state(c.unsigned_value("generator_seed"), c.unsigned_value("generator_offset"));
  return c.int_value("step");
}

}  // namespace csg::train
