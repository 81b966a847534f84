// src/train/flip_tta.h — VisDA's test-time flip as the reference evaluates
// (docs/paper-notes.md#visda-evaluation): the class scores are
// (sigmoid(f(x)) + sigmoid(f(flip_w(x)))) / 2, then arg-max.
#pragma once
#include <functional>

#include "csg/tensor.h"

namespace csg::train {

// x [N,C,H,W] mirrored along the width axis (on the CPU; the result is on the CPU).
Tensor flip_width(const Tensor& x);

// The reference's flip-averaged sigmoid scores [N,K] (CPU) of `forward` (logits [N,K]) on
// x [N,C,H,W]; `flip` false: sigmoid(f(x)) alone (the same arg-max as the logits).
// x and the flipped view are on the CPU; `forward` moves them to where it computes.
Tensor flip_tta_scores(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x, bool flip);

}  // namespace csg::train
