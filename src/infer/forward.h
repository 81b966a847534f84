// src/infer/forward.h — the walk over a compiled network, written once for every backend.
//
// A backend (engine.cpp's CpuBackend and OpsBackend, onednn_backend.cpp's OneDnnBackend) names
// its activation type `Act` (a Tensor, or a buffer in a oneDNN layout) and provides:
//   input(x) / output(a)                 the network's input and result as tensors
//   conv(f, x [, residual])              relu?(conv(x) + b [+ residual]); the residual is consumed:
//                                        its buffer may become the result's, so the caller never
//                                        reads or releases it again
//   conv_into(f, x, dst, offset)         conv(x) into channels [offset, offset + O) of dst
//   max_pool(x, options), global_pool, dense, broadcast_into, upsample, empty(shape), release(a)
//   copy_out(a)                          (forward_stages only) a as a new plain f32 tensor
// and forward() releases each activation once its last reader has run.
#pragma once
#include <array>
#include <string>

#include "csg/error.h"
#include "csg/models/resnet.h"
#include "kernels/conv2d.h"
#include "src/infer/fused_conv.h"
#include "src/ops/conv_shape.h"

namespace csg::infer {

// The convolution's geometry for an input of shape x [N,C,H,W]; an error names the mismatch.
inline kernels::Conv2dShape conv_shape(const FusedConv& f, const Shape& x) {
  const kernels::Conv2dShape s = conv2d_geometry(x, f.weight.shape(), f.opt);
  CSG_CHECK(s.C == f.weight.size(1), "inference: input ", shape_str(x), " has ", s.C, " channels, the layer expects ",
            f.weight.size(1));
  CSG_CHECK(kernel_fits(s), "inference: input ", shape_str(x), " is too small for a ", s.KH, "x", s.KW,
            " convolution (dilation ", s.dilation_h, "); use a larger image size");
  return s;
}

// The stem and the residual blocks of stages 1..`last_stage`: returns the last stage's output and
// calls on_stage(s, output) at the end of each stage s (1..4) with its output, still owned by the walk.
template <class Backend, class OnStage>
typename Backend::Act forward_backbone(Backend& be, const CompiledNetwork& net, const Tensor& x, int last_stage,
                                       OnStage&& on_stage) {
  using Act = typename Backend::Act;
  Act in = be.input(x);
  Act stem = be.conv(net.stem, in);
  be.release(in);
  Act h = stem;
  if (net.backbone.stem.max_pool) {
    h = be.max_pool(stem, models::stem_max_pool(net.backbone.stem));
    be.release(stem);
  }
  size_t next_block = 0;
  for (int stage = 1; stage <= last_stage; ++stage) {
    const size_t stage_end = next_block + size_t(net.backbone.stages[stage - 1].blocks);
    CSG_CHECK(stage_end <= net.blocks.size(), "inference: the compiled network has fewer blocks than its stages");
    for (; next_block < stage_end; ++next_block) {
      const FusedBlock& b = net.blocks[next_block];
      Act t = h;
      for (size_t i = 0; i + 1 < b.convs.size(); ++i) {
        Act next = be.conv(b.convs[i], t);
        if (i > 0) be.release(t);
        t = next;
      }
      Act identity = b.has_down ? be.conv(b.down, h) : h;
      Act out = be.conv(b.convs.back(), t, identity);  // relu(conv + identity); identity (h or down(h)) consumed
      be.release(t);
      if (b.has_down) be.release(h);
      h = out;
    }
    on_stage(stage, h);
  }
  CSG_CHECK(last_stage < 4 || next_block == net.blocks.size(), "inference: the compiled network's stages hold ",
            next_block, " blocks, its block list ", net.blocks.size());
  return h;
}

// The stage outputs a training step's no-grad passes read (ResNet::forward_features):
// wanted[s - 1] asks for stage s; each comes back as a new tensor (be.copy_out), the others undefined.
template <class Backend>
std::array<Tensor, 4> forward_stages(Backend& be, const CompiledNetwork& net, const Tensor& x,
                                     const std::array<bool, 4>& wanted) {
  int last = 0;
  for (int s = 1; s <= 4; ++s)
    if (wanted[s - 1]) last = s;
  std::array<Tensor, 4> out;
  if (last == 0) return out;
  auto h = forward_backbone(be, net, x, last, [&](int s, const typename Backend::Act& a) {
    if (wanted[s - 1]) out[s - 1] = be.copy_out(a);
  });
  be.release(h);
  return out;
}

// The network, layer by layer: x [N,3,H,W] -> logits [N,classes] or [N,classes,H,W].
template <class Backend>
Tensor forward(Backend& be, const CompiledNetwork& net, const Tensor& x) {
  using Act = typename Backend::Act;
  Act h = forward_backbone(be, net, x, 4, [](int, const Act&) {});
  if (!net.classifier.empty()) {
    Act v = be.global_pool(h);
    be.release(h);
    for (const Dense& d : net.classifier) {
      Act next = be.dense(d, v);
      be.release(v);
      v = next;
    }
    return be.output(v);
  }
  Act low;
  if (net.head.kind == models::DeepLabHead::AsppV2) {
    low = be.conv(net.v2[0], h);
    for (size_t i = 1; i < net.v2.size(); ++i) low = be.conv(net.v2[i], h, low);  // the running sum, consumed
    be.release(h);
  } else {
    const int64_t branch = net.aspp[0].weight.size(0);
    Act cat = be.empty({h.size(0), branch * int64_t(net.aspp.size() + 1), h.size(2), h.size(3)});
    for (size_t k = 0; k < net.aspp.size(); ++k) be.conv_into(net.aspp[k], h, cat, int64_t(k) * branch);
    Act pooled = be.global_pool(h);
    Act pooled_branch = be.conv(net.aspp_pool, pooled);
    be.broadcast_into(pooled_branch, cat, int64_t(net.aspp.size()) * branch);
    be.release(pooled), be.release(pooled_branch), be.release(h);
    Act projected = be.conv(net.project, cat);  // dropout: the identity at inference
    be.release(cat);
    Act refined = be.conv(net.refine, projected);
    be.release(projected);
    low = be.conv(net.seg_classifier, refined);
    be.release(refined);
  }
  Act logits = be.upsample(low, x.size(2), x.size(3));
  be.release(low);
  return be.output(logits);
}

}  // namespace csg::infer
