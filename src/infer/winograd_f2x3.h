// src/infer/winograd_f2x3.h — a 3x3 convolution (stride 1, padding 1, undilated, f32) by
// Winograd's F(2x2, 3x3) on channel-blocked activations, for CPUs where oneDNN has no Winograd
// kernel: its f32 ones need AVX-512, and on AVX2 the 3x3 layers ran on the direct kernel, a third
// of ResNet-50's time at batch 1 (docs/onnx.md, item 22 of "Where the time goes").
//
// Each 2x2 output tile comes from a 4x4 input patch d: Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A. The
// elementwise product, summed over input channels, is 16 matrix products, one per position of the
// 4x4 transformed tile: M_k [tiles, O] = V_k [tiles, C] · U_k [C, O], 2.25 times fewer
// multiplications than the direct convolution. The weights are transformed once (U), the input
// and output in each call; the 16 products run on oneDNN's sgemm, one thread each.
#pragma once
#include <cstdint>
#include <vector>

namespace csg::infer {

class WinogradF2x3 {
 public:
  // weight [O, C, 3, 3] (plain, contiguous); vec: the channel block of the activations (8 or 16).
  WinogradF2x3(const float* weight, int64_t O, int64_t C, int64_t vec);
  void set_weights(const float* weight);  // the same shape, written again (a refolded network)

  // y = relu?(conv(x) + bias [+ y when accumulate]), x [N][ceil(C/vec)][H][W][vec] and y
  // [N][ceil(O/vec)][H][W][vec]. The padding channels of a partial block are read as the zeros
  // they hold in x and written as zeros in y.
  void run(const float* x, const float* bias, float* y, int64_t N, int64_t H, int64_t W, bool accumulate,
           bool relu) const;

 private:
  int64_t O_, C_, vec_, Op_, Cp_;
  std::vector<float> u_;  // 16 x [Cp, Op]: Cp and Op the channel counts rounded up to vec
};

}  // namespace csg::infer
