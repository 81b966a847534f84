// src/infer/network_builder.cpp — the training-time network of a model file, weights loaded:
// the reference the compiled engine is checked against, and what it is compiled from.
#include "csg/error.h"
#include "csg/infer.h"
#include "csg/models/deeplab.h"
#include "csg/nn_init.h"
#include "src/infer/classifier_network.h"

namespace csg::infer {

MlpHeadResNet::MlpHeadResNet(const models::ResNetOptions& backbone, int64_t num_classes) : ResNet(backbone) {
  nn::InitGuard no_init(false);
  Generator gen(0);
  auto head = register_module("head", std::make_shared<nn::ModuleDict>());
  fc1 = head->add("0", std::make_shared<nn::Linear>(feature_channels(), 512, true, gen));
  fc2 = head->add("2", std::make_shared<nn::Linear>(512, num_classes, true, gen));
}

Tensor MlpHeadResNet::forward(const Tensor& x) const {
  return fc2->forward(relu(fc1->forward(global_avg_pool(forward_features(x).layer[3]))));
}

std::shared_ptr<nn::Module> build_network(const ModelWeights& m) {
  const ModelInfo& info = m.info;
  info.validate("build_network");
  std::shared_ptr<nn::Module> net;
  if (info.task() == Task::Segmentation) {
    models::DeepLabOptions o;
    o.depth = info.depth();
    o.num_classes = info.num_classes;
    o.head = models::parse_deeplab_head(info.head);
    o.init_weights = false;
    net = std::make_shared<models::DeepLab>(o);
  } else {
    models::ResNetOptions o;
    o.depth = info.depth();
    o.width = info.width;
    o.stem = models::parse_stem(info.stem);
    o.init_weights = false;
    o.num_classes = info.head == "fc" ? info.num_classes : 0;
    if (info.head == "fc")
      net = std::make_shared<models::ResNet>(o);
    else
      net = std::make_shared<MlpHeadResNet>(o, info.num_classes);
  }
  // BN's num_batches_tracked counters may be absent (older or exported files): nothing reads them.
  // Errors name the file first: with several model files in play the user must see which one.
  const std::string from = m.source.empty() ? "model" : m.source;
  nn::Module::LoadReport rep = net->load_state_dict(m.tensors, /*strict=*/false, from);
  size_t missing = 0;
  std::string first;
  for (const std::string& name : rep.missing)
    if (name.size() < 20 || name.compare(name.size() - 20, 20, ".num_batches_tracked") != 0)
      if (missing++ == 0) first = name;
  CSG_CHECK(missing == 0, from, ": ", missing, " weight tensors of a ", info.arch, " (", info.head, " head, width ",
            info.width, ") missing from the file (first: ", first, "); is it another architecture?");
  CSG_CHECK(rep.unexpected.empty(), from, ": ", rep.unexpected.size(), " tensors of the file do not belong to a ",
            info.arch, " (", info.head, " head, width ", info.width, ") (first: ",
            rep.unexpected.empty() ? "" : rep.unexpected[0], ")");
  net->eval();
  return net;
}

Tensor forward_network(const nn::Module& net, const ModelInfo& info, const Tensor& x) {
  if (auto* deeplab = dynamic_cast<const models::DeepLab*>(&net)) return deeplab->forward(x);
  if (auto* mlp = dynamic_cast<const MlpHeadResNet*>(&net)) return mlp->forward(x);
  auto* resnet = dynamic_cast<const models::ResNet*>(&net);
  CSG_CHECK(resnet, "forward_network: not a network built by build_network");
  return resnet->forward(x);
}

}  // namespace csg::infer
