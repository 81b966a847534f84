// csg/nn_init.h — turning weight initialisation off while a model is built to receive weights.
//
// Drawing ResNet-101's 44.5 M initial weights from the generator costs about a second on a
// 2-core CPU, all of it thrown away when a checkpoint is loaded next. Inside an InitGuard(false)
// scope the layer constructors and the initialisers of csg/nn.h leave every parameter at zero
// instead. Models expose it as an option (ResNetOptions::init_weights, DeepLabOptions::init_weights).
#pragma once

namespace csg::nn {

// True unless an InitGuard(false) is active on this thread.
bool init_enabled();

// Scoped: InitGuard g(false) turns initialisation off until g ends; InitGuard g(true) keeps
// the current setting (so a model's option can be passed straight through).
class InitGuard {
 public:
  explicit InitGuard(bool initialise);
  ~InitGuard();
  InitGuard(const InitGuard&) = delete;
  InitGuard& operator=(const InitGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace csg::nn
