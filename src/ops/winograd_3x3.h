// src/ops/winograd_3x3.h — a 3x3 convolution (stride 1, padding 1, undilated, f32) by Winograd's
// F(4x4, 3x3) or F(2x2, 3x3) on channel-blocked activations, for CPUs where oneDNN has no Winograd
// kernel: its f32 ones need AVX-512, and on AVX2 the 3x3 layers ran on the direct kernel, a third
// of ResNet-50's time at batch 1 (docs/onnx.md, items 22-24 of "Where the time goes"). The
// inference chain runs it (a training step's passes without gradient too), and the training
// convolutions run their forward and data-gradient passes on it.
//
// Each m x m output tile (m = 4 or 2) comes from an a x a input patch d, a = m + 2:
// Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A. The elementwise product, summed over input channels, is a²
// matrix products, one per position of the transformed tile: M_k [tiles, O] = V_k [tiles, C] ·
// U_k [C, O]. F(4x4, 3x3) does 4 times fewer multiplications than the direct convolution, F(2x2,
// 3x3) 2.25 times. The weights are transformed once (U), the input and output in each call, a few
// rows of tiles at a time so that the transformed tiles stay in the cache; the products run on
// oneDNN's sgemm, one thread each.
#pragma once
#include <cstdint>
#include <vector>

namespace csg {

class Winograd3x3 {
 public:
  // What the weights given compute. Forward: y = conv(x, weight), weight [O, C, 3, 3].
  // DataGradient: dx = conv_transpose(dy, weight) with weight the forward convolution's [C, O, 3, 3]
  // (its O inputs are this one's C outputs): for stride 1 and padding 1 the same convolution with
  // the kernel flipped and its two channel axes swapped, so the same transforms serve.
  enum class Pass { Forward, DataGradient };
  // The output tile. F4x4 does fewer multiplications a tile, but its transformed weights are
  // 36/16 the size of F2x2's and are read once for every call: tile_for picks F2x2 where there
  // are too few tiles to pay for that (a batch of 1 on a 16x16 map), or where a map of 4k+1 or
  // 4k+2 leaves F4x4's tiles much padding.
  enum class Tile { F2x2 = 2, F4x4 = 4 };
  static Tile tile_for(int64_t N, int64_t H, int64_t W);
  static int64_t tiles(Tile tile, int64_t N, int64_t H, int64_t W);  // output tiles of a call on N H x W maps
  static const char* name(Tile tile);  // "csg:winograd_f4x3" or "csg:winograd_f2x3", for the kernel lists

  // weight plain and contiguous, as `pass` says; vec: the channel block of the activations (8 or 16).
  Winograd3x3(const float* weight, int64_t O, int64_t C, int64_t vec, Tile tile, Pass pass = Pass::Forward);
  void set_weights(const float* weight);  // the same shape, written again (a refolded network, a training step)
  Tile tile() const { return tile_; }

  // y = relu?(conv(x) + bias [+ y when accumulate]) (bias may be null), x [N][ceil(C/vec)][H][W][vec] and y
  // [N][ceil(O/vec)][H][W][vec]. The padding channels of a partial block are read as the zeros
  // they hold in x and written as zeros in y.
  void run(const float* x, const float* bias, float* y, int64_t N, int64_t H, int64_t W, bool accumulate,
           bool relu) const;

 private:
  int64_t O_, C_, vec_, Op_, Cp_;
  Tile tile_;
  Pass pass_;
  std::vector<float> u_;  // a² x [Cp, Op]: Cp and Op the channel counts rounded up to vec
};

}  // namespace csg
