// src/infer/cpu_layers.h — the layers of a compiled network other than convolutions, on the
// CPU, writing into buffers the caller provides (float32, contiguous NCHW). Each computes
// what the op of the same name in csg/ops.h computes, with the same arithmetic.
#pragma once
#include <cstdint>

#include "csg/ops.h"

namespace csg::infer::cpu {

// x [N,C,H,W] -> y [N,C,OH,OW], PyTorch's max pooling (floor mode, -inf padding, NaN wins).
void max_pool(const float* x, float* y, int64_t planes, int64_t H, int64_t W, const Pool2dOptions& o, int64_t OH,
              int64_t OW);
// x [planes, H*W] -> y [planes]: the mean of each plane.
void mean_of_planes(const float* x, float* y, int64_t planes, int64_t HW);
// y [N,O] = relu?(x [N,I] W[O,I]^T + b [O]).
void dense(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t I, int64_t O, bool relu);
// Bilinear resize with align_corners = true, x [planes,h,w] -> y [planes,H,W].
void upsample_align_corners(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t H, int64_t W);
// y[n, c, :, :] = v[n, c] over H*W values, for n < N, c < C, with y's images `y_image_stride` apart
// (the bilinear resize of a 1x1 map, written into a slice of a concatenation).
void broadcast_planes(const float* v, float* y, int64_t N, int64_t C, int64_t HW, int64_t y_image_stride);

}  // namespace csg::infer::cpu
