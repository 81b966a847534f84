// src/ops/onednn/dilated_as_batches.h — a dilated 3x3 convolution as an undilated one over a
// batch of sub-images, so that it can run on Winograd.
//
// With dilation d, output pixel (i, j) reads only input pixels (i + d*a, j + d*b): pixels of the
// same phase (i mod d, j mod d). Splitting the input into its d*d phases (every d-th row and
// column, from each of the d*d offsets) therefore turns the convolution into an undilated 3x3 one,
// padding 1, on each phase: the same sums, term by term. DeepLab's layer 3 and layer 4 (dilations
// 2 and 4 on a map an eighth of the image) are most of its arithmetic, and oneDNN has Winograd
// only for undilated convolutions; on their phases (32x32 and 16x16 at 512 px) it applies
// (winograd_for_changing_weights). The split and the merge are one pass over the activation each.
//
// Shared by the training convolution (conv2d.cpp, plain NCHW) and the inference engine
// (src/infer/onednn_backend.cpp, nChw16c or nChw8c): both layouts are [N][K][H][W][vec] with vec
// floats per pixel (1 plain, 16 or 8 blocked with K = C/vec blocks).
#pragma once
#include <cstdint>

#include "kernels/conv2d.h"

namespace csg::onednn {

// Whether s (stride 1, dilation d > 1 the same both ways, padding d: the output keeps the input's
// size) runs as the undilated batched_shape(s), whose phases are large enough for Winograd.
bool dilated_as_batches(const kernels::Conv2dShape& s);
// The undilated convolution over the d*d phases: batch d*d*N, maps ceil(H/d) x ceil(W/d), padding 1.
kernels::Conv2dShape batched_shape(const kernels::Conv2dShape& s);

// x [N][K][H][W][vec] -> out [d*d*N][K][ceil(H/d)][ceil(W/d)][vec]: batch (pi*d + pj)*N + n holds
// x's pixels (i*d + pi, j*d + pj) of image n, zeros where those fall past the edge (where the
// convolution's own zero padding would be).
void space_to_batch(const float* x, float* out, int64_t N, int64_t K, int64_t H, int64_t W, int64_t vec, int64_t d);
// The inverse: out [N][K][H][W][vec] from y [d*d*N][K][ceil(H/d)][ceil(W/d)][vec], the values past
// the edge dropped.
void batch_to_space(const float* y, float* out, int64_t N, int64_t K, int64_t H, int64_t W, int64_t vec, int64_t d);

}  // namespace csg::onednn
