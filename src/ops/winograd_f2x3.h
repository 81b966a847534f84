// src/ops/winograd_f2x3.h — a 3x3 convolution (stride 1, padding 1, undilated, f32) by
// Winograd's F(2x2, 3x3) on channel-blocked activations, for CPUs where oneDNN has no Winograd
// kernel: its f32 ones need AVX-512, and on AVX2 the 3x3 layers ran on the direct kernel, a third
// of ResNet-50's time at batch 1 (docs/onnx.md, items 22 and 23 of "Where the time goes"). The
// inference chain runs it (a training step's passes without gradient too), and the training
// convolutions run their forward and data-gradient passes on it.
//
// Each 2x2 output tile comes from a 4x4 input patch d: Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A. The
// elementwise product, summed over input channels, is 16 matrix products, one per position of the
// 4x4 transformed tile: M_k [tiles, O] = V_k [tiles, C] · U_k [C, O], 2.25 times fewer
// multiplications than the direct convolution. The weights are transformed once (U), the input
// and output in each call; the 16 products run on oneDNN's sgemm, one thread each.
#pragma once
#include <cstdint>
#include <vector>

namespace csg {

class WinogradF2x3 {
 public:
  // What the weights given compute. Forward: y = conv(x, weight), weight [O, C, 3, 3].
  // DataGradient: dx = conv_transpose(dy, weight) with weight the forward convolution's [C, O, 3, 3]
  // (its O inputs are this one's C outputs): for stride 1 and padding 1 the same convolution with
  // the kernel flipped and its two channel axes swapped, so the same transforms serve.
  enum class Pass { Forward, DataGradient };

  // weight plain and contiguous, as `pass` says; vec: the channel block of the activations (8 or 16).
  WinogradF2x3(const float* weight, int64_t O, int64_t C, int64_t vec, Pass pass = Pass::Forward);
  void set_weights(const float* weight);  // the same shape, written again (a refolded network, a training step)

  // y = relu?(conv(x) + bias [+ y when accumulate]) (bias may be null), x [N][ceil(C/vec)][H][W][vec] and y
  // [N][ceil(O/vec)][H][W][vec]. The padding channels of a partial block are read as the zeros
  // they hold in x and written as zeros in y.
  void run(const float* x, const float* bias, float* y, int64_t N, int64_t H, int64_t W, bool accumulate,
           bool relu) const;

 private:
  int64_t O_, C_, vec_, Op_, Cp_;
  Pass pass_;
  std::vector<float> u_;  // 16 x [Cp, Op]: Cp and Op the channel counts rounded up to vec
};

}  // namespace csg
