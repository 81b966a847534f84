// src/ops/winograd_3x3.cpp — see winograd_3x3.h. The transforms work on whole channel blocks
// (vec floats, one to four SIMD registers), which the compiler vectorises from the inner loops.
#include "src/ops/winograd_3x3.h"

#include <omp.h>

#include <algorithm>

#include "csg/error.h"
#include "src/core/host_scratch.h"
#include "src/ops/blas.h"
#ifdef CSG_WITH_DNNL
#include "src/ops/onednn/blas.h"
#endif

namespace csg {

namespace {

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// Where the tiles lie: M x M output tiles, TH x TW per image; a call transforms `rows` rows of
// tiles (a tile row: image n, tile row th, numbered n TH + th) from row0 on, T = rows TW tiles,
// and T is the distance between two of the transformed planes ([T, Cp] for the input, [T, Op]
// for the products).
struct Tiles {
  int64_t N, H, W, TH, TW, row0, T;
};

// The a x a patch of one channel block whose corner is (M th - 1, M tw - 1), as the transforms read
// it: in place where it lies inside the map (Interior), else copied with the padding's zeros
// (Copied, load_patch). Copying every patch, element by element past bounds checks, took about half
// of the input transform's samples (perf, AVX2 EPYC, ResNet-50 at batch 1), and most tiles are inside.
template <int VEC>
struct Interior {
  const float* corner;
  int64_t row;  // floats from one row of the map to the next
  const float* at(int i, int j) const { return corner + i * row + j * VEC; }
};
template <int A, int VEC>
struct Copied {
  alignas(64) float d[A][A][VEC];
  const float* at(int i, int j) const { return d[i][j]; }
};

// Copies the patch whose corner is (h0, w0); rows and columns past the edge are zeros.
template <int A, int VEC>
[[gnu::always_inline]] inline void load_patch(const float* plane, const Tiles& g, int64_t h0, int64_t w0,
                                              float (&d)[A][A][VEC]) {
  for (int i = 0; i < A; ++i)
    for (int j = 0; j < A; ++j) {
      const int64_t h = h0 + i, w = w0 + j;
      if (h >= 0 && h < g.H && w >= 0 && w < g.W) {
        const float* p = plane + (h * g.W + w) * VEC;
#pragma omp simd
        for (int l = 0; l < VEC; ++l) d[i][j][l] = p[l];
      } else {
#pragma omp simd
        for (int l = 0; l < VEC; ++l) d[i][j][l] = 0.0f;
      }
    }
}

// Each 1-D transform below is written out twice, for the columns and for the rows of a tile: one
// helper for both, over small local arrays, left GCC 12 at -O2 with loops it did not vectorise,
// and the kernel 1.3-3x slower (2026-12-07, AVX2 EPYC).

// Input, F(2x2, 3x3): V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], on 4x4 patches.
template <int VEC, class Patch>
[[gnu::always_inline]] inline void input_tile_f2(const Patch& d, float* out, int64_t step) {
  alignas(64) float r[4][4][VEC];  // B^T d
  for (int j = 0; j < 4; ++j) {
    const float *d0 = d.at(0, j), *d1 = d.at(1, j), *d2 = d.at(2, j), *d3 = d.at(3, j);
#pragma omp simd
    for (int l = 0; l < VEC; ++l) {
      r[0][j][l] = d0[l] - d2[l];
      r[1][j][l] = d1[l] + d2[l];
      r[2][j][l] = d2[l] - d1[l];
      r[3][j][l] = d1[l] - d3[l];
    }
  }
  for (int i = 0; i < 4; ++i) {
    float* o = out + 4 * i * step;  // k = 4 i + j
#pragma omp simd
    for (int l = 0; l < VEC; ++l) {
      o[l] = r[i][0][l] - r[i][2][l];
      o[step + l] = r[i][1][l] + r[i][2][l];
      o[2 * step + l] = r[i][2][l] - r[i][1][l];
      o[3 * step + l] = r[i][1][l] - r[i][3][l];
    }
  }
}

// Input, F(4x4, 3x3): V = B^T d B on 6x6 patches, with
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
template <int VEC, class Patch>
[[gnu::always_inline]] inline void input_tile_f4(const Patch& d, float* out, int64_t step) {
  alignas(64) float r[6][6][VEC];  // B^T d
  for (int j = 0; j < 6; ++j) {
    const float *p0 = d.at(0, j), *p1 = d.at(1, j), *p2 = d.at(2, j), *p3 = d.at(3, j), *p4 = d.at(4, j),
                *p5 = d.at(5, j);
#pragma omp simd
    for (int l = 0; l < VEC; ++l) {
      const float d0 = p0[l], d1 = p1[l], d2 = p2[l], d3 = p3[l], d4 = p4[l], d5 = p5[l];
      const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
      r[0][j][l] = 4.0f * d0 - 5.0f * d2 + d4;
      r[1][j][l] = a + b;
      r[2][j][l] = a - b;
      r[3][j][l] = c + e;
      r[4][j][l] = c - e;
      r[5][j][l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
  for (int i = 0; i < 6; ++i) {
    float* o = out + 6 * i * step;  // k = 6 i + j
#pragma omp simd
    for (int l = 0; l < VEC; ++l) {
      const float d0 = r[i][0][l], d1 = r[i][1][l], d2 = r[i][2][l], d3 = r[i][3][l], d4 = r[i][4][l],
                  d5 = r[i][5][l];
      const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
      o[l] = 4.0f * d0 - 5.0f * d2 + d4;
      o[step + l] = a + b;
      o[2 * step + l] = a - b;
      o[3 * step + l] = c + e;
      o[4 * step + l] = c - e;
      o[5 * step + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
}

// A function rather than a lambda: GCC compiles a lambda for the baseline instruction set, not for
// the AVX2 target of the row function around it, and then does not inline it.
template <int M, int VEC, class Patch>
[[gnu::always_inline]] inline void input_tile(const Patch& d, float* out, int64_t step) {
  if constexpr (M == 2)
    input_tile_f2<VEC>(d, out, step);
  else
    input_tile_f4<VEC>(d, out, step);
}

// One row of tiles (tile row nth) of one channel block cb into V. VEC, the block, is a constant
// here, so that each loop over l is one or two SIMD operations.
template <int M, int VEC>
[[gnu::always_inline]] inline void input_row(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth,
                                             int64_t cb) {
  constexpr int A = M + 2;
  const int64_t CB = Cp / VEC, n = nth / g.TH, th = nth % g.TH;
  const float* plane = x + (n * CB + cb) * g.H * g.W * VEC;
  const int64_t h0 = M * th - 1, step = g.T * Cp;
  const bool rows_inside = h0 >= 0 && h0 + A <= g.H;
  for (int64_t tw = 0; tw < g.TW; ++tw) {
    const int64_t w0 = M * tw - 1;
    float* out = V + ((nth - g.row0) * g.TW + tw) * Cp + cb * VEC;
    if (rows_inside && w0 >= 0 && w0 + A <= g.W) {
      input_tile<M, VEC>(Interior<VEC>{plane + (h0 * g.W + w0) * VEC, g.W * VEC}, out, step);
    } else {
      Copied<A, VEC> patch;
      load_patch<A, VEC>(plane, g, h0, w0, patch.d);
      input_tile<M, VEC>(patch, out, step);
    }
  }
}

// Output, F(2x2, 3x3): s = A^T m with A^T = [1 1 1 0; 0 1 -1 -1] over the columns of the 4x4
// product tile m; F(4x4, 3x3): A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
template <int M, int VEC>
[[gnu::always_inline]] inline void output_rows(const float* m, int64_t step, float (&s)[M][M + 2][VEC]) {
  constexpr int A = M + 2;
  for (int j = 0; j < A; ++j) {
#pragma omp simd
    for (int l = 0; l < VEC; ++l) {
      if constexpr (M == 2) {
        const float m0 = m[j * step + l], m1 = m[(4 + j) * step + l], m2 = m[(8 + j) * step + l],
                    m3 = m[(12 + j) * step + l];
        s[0][j][l] = m0 + m1 + m2;
        s[1][j][l] = m1 - m2 - m3;
      } else {
        const float m0 = m[j * step + l], m1 = m[(6 + j) * step + l], m2 = m[(12 + j) * step + l],
                    m3 = m[(18 + j) * step + l], m4 = m[(24 + j) * step + l], m5 = m[(30 + j) * step + l];
        const float p = m1 + m2, q = m1 - m2, u = m3 + m4, v = m3 - m4;
        s[0][j][l] = m0 + p + u;
        s[1][j][l] = q + 2.0f * v;
        s[2][j][l] = p + 4.0f * u;
        s[3][j][l] = q + 8.0f * v + m5;
      }
    }
  }
}

// Y = A^T m A + bias (+ y), ReLU, for one row of tiles of one block ob of output channels; a tile's
// rows and columns past the edge of the map are dropped.
template <int M, int VEC>
[[gnu::always_inline]] inline void output_row(const float* Mp, const float* bias, float* y, const Tiles& g, int64_t O,
                                              int64_t Op, int64_t nth, int64_t ob, bool accumulate, bool relu) {
  const int64_t OB = Op / VEC, step = g.T * Op, n = nth / g.TH, th = nth % g.TH;
  float* plane = y + (n * OB + ob) * g.H * g.W * VEC;
  alignas(64) float b[VEC];
  for (int l = 0; l < VEC; ++l) b[l] = bias && ob * VEC + l < O ? bias[ob * VEC + l] : 0.0f;
  for (int64_t tw = 0; tw < g.TW; ++tw) {
    alignas(64) float s[M][M + 2][VEC];
    output_rows<M, VEC>(Mp + ((nth - g.row0) * g.TW + tw) * Op + ob * VEC, step, s);
    for (int i = 0; i < M; ++i) {
      const int64_t h = M * th + i;
      if (h >= g.H) break;
      alignas(64) float v[M][VEC];
#pragma omp simd
      for (int l = 0; l < VEC; ++l) {
        const float s0 = s[i][0][l], s1 = s[i][1][l], s2 = s[i][2][l], s3 = s[i][3][l];
        if constexpr (M == 2) {
          v[0][l] = s0 + s1 + s2 + b[l];
          v[1][l] = s1 - s2 - s3 + b[l];
        } else {
          const float s4 = s[i][4][l], s5 = s[i][5][l];
          const float p = s1 + s2, q = s1 - s2, u = s3 + s4, w = s3 - s4;
          v[0][l] = s0 + p + u + b[l];
          v[1][l] = q + 2.0f * w + b[l];
          v[2][l] = p + 4.0f * u + b[l];
          v[3][l] = q + 8.0f * w + s5 + b[l];
        }
      }
      for (int j = 0; j < M; ++j) {
        const int64_t w = M * tw + j;
        if (w >= g.W) break;
        float* p = plane + (h * g.W + w) * VEC;
        if (accumulate) {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[j][l] += p[l];
        }
        if (relu) {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[j][l] = std::max(v[j][l], 0.0f);
        }
#pragma omp simd
        for (int l = 0; l < VEC; ++l) p[l] = v[j][l];
      }
    }
  }
}

// Each row function twice: for the x86-64 baseline (SSE2, four floats an operation) and for AVX2
// (eight), chosen at run time, so that one binary runs everywhere and uses the wider registers
// where they exist (the only CPUs that come here are those without AVX-512).
using InputRow = void (*)(const float*, float*, const Tiles&, int64_t, int64_t, int64_t);
using OutputRow = void (*)(const float*, const float*, float*, const Tiles&, int64_t, int64_t, int64_t, int64_t, bool,
                           bool);

template <int M, int VEC>
void input_row_base(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth, int64_t cb) {
  input_row<M, VEC>(x, V, g, Cp, nth, cb);
}
template <int M, int VEC>
void output_row_base(const float* Mp, const float* bias, float* y, const Tiles& g, int64_t O, int64_t Op, int64_t nth,
                     int64_t ob, bool accumulate, bool relu) {
  output_row<M, VEC>(Mp, bias, y, g, O, Op, nth, ob, accumulate, relu);
}
#if defined(__x86_64__)
template <int M, int VEC>
[[gnu::target("avx2,fma")]] void input_row_avx2(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth,
                                                int64_t cb) {
  input_row<M, VEC>(x, V, g, Cp, nth, cb);
}
template <int M, int VEC>
[[gnu::target("avx2,fma")]] void output_row_avx2(const float* Mp, const float* bias, float* y, const Tiles& g,
                                                 int64_t O, int64_t Op, int64_t nth, int64_t ob, bool accumulate,
                                                 bool relu) {
  output_row<M, VEC>(Mp, bias, y, g, O, Op, nth, ob, accumulate, relu);
}
bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
template <int M, int VEC>
InputRow input_row_for_cpu() {
  return has_avx2() ? input_row_avx2<M, VEC> : input_row_base<M, VEC>;
}
template <int M, int VEC>
OutputRow output_row_for_cpu() {
  return has_avx2() ? output_row_avx2<M, VEC> : output_row_base<M, VEC>;
}
#else
template <int M, int VEC>
InputRow input_row_for_cpu() {
  return input_row_base<M, VEC>;
}
template <int M, int VEC>
OutputRow output_row_for_cpu() {
  return output_row_base<M, VEC>;
}
#endif

template <int M>
InputRow input_row_for(int64_t vec) {
  return vec == 8 ? input_row_for_cpu<M, 8>() : input_row_for_cpu<M, 16>();
}
template <int M>
OutputRow output_row_for(int64_t vec) {
  return vec == 8 ? output_row_for_cpu<M, 8>() : output_row_for_cpu<M, 16>();
}

// The weight transform's G (a x 3) of each tile: F(2x2, 3x3) and F(4x4, 3x3).
constexpr float kG2[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
constexpr float kG4[6][3] = {{1.0f / 4, 0, 0},
                             {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                             {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                             {1.0f / 24, 1.0f / 12, 1.0f / 6},
                             {1.0f / 24, -1.0f / 12, 1.0f / 6},
                             {0, 0, 1}};


// The weight transform U = G g G^T of input channel c to every output channel, 8 outputs at a time.
// Forward: g = weight[o][c]; data gradient: the forward kernel weight[c][o] flipped.
template <int A>
[[gnu::always_inline]] inline void weight_row(const float* weight, float* u, int64_t O, int64_t C, int64_t Cp,
                                              int64_t Op, int64_t c, bool forward) {
  constexpr int L = 8;
  const float(*G)[3] = A == 6 ? kG4 : kG2;
  for (int64_t o0 = 0; o0 < O; o0 += L) {
    const int n = int(std::min<int64_t>(L, O - o0));
    alignas(32) float g[9][L] = {};
    for (int l = 0; l < n; ++l)
      for (int i = 0; i < 9; ++i)
        g[i][l] = forward ? weight[((o0 + l) * C + c) * 9 + i] : weight[(c * O + o0 + l) * 9 + 8 - i];
    alignas(32) float t[A][3][L];  // G g
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < 3; ++j) {
#pragma omp simd
        for (int l = 0; l < L; ++l) t[i][j][l] = G[i][0] * g[j][l] + G[i][1] * g[3 + j][l] + G[i][2] * g[6 + j][l];
      }
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < A; ++j) {
        float* out = u + ((A * i + j) * Cp + c) * Op + o0;
        alignas(32) float v[L];
#pragma omp simd
        for (int l = 0; l < L; ++l) v[l] = t[i][0][l] * G[j][0] + t[i][1][l] * G[j][1] + t[i][2][l] * G[j][2];
        for (int l = 0; l < n; ++l) out[l] = v[l];
      }
  }
}

using WeightRow = void (*)(const float*, float*, int64_t, int64_t, int64_t, int64_t, int64_t, bool);
template <int A>
void weight_row_base(const float* weight, float* u, int64_t O, int64_t C, int64_t Cp, int64_t Op, int64_t c,
                     bool forward) {
  weight_row<A>(weight, u, O, C, Cp, Op, c, forward);
}
#if defined(__x86_64__)
template <int A>
[[gnu::target("avx2,fma")]] void weight_row_avx2(const float* weight, float* u, int64_t O, int64_t C, int64_t Cp,
                                                 int64_t Op, int64_t c, bool forward) {
  weight_row<A>(weight, u, O, C, Cp, Op, c, forward);
}
template <int A>
WeightRow weight_row_for() {
  return has_avx2() ? weight_row_avx2<A> : weight_row_base<A>;
}
#else
template <int A>
WeightRow weight_row_for() {
  return weight_row_base<A>;
}
#endif

}  // namespace

// A call's time, per input-output channel pair, is about its multiplications (2 a² per tile) over
// the sgemm's rate plus its transformed weights (4 a² bytes) over the memory's bandwidth, read once;
// that rate is about 12 times the bandwidth in floats (an AVX2 EPYC, 2 threads: 150 GFLOP/s
// against 13-15 GB/s). F4x4 takes 72 T4 + 144 x 12 against F2x2's 32 T2 + 64 x 12 (T: tiles).
Winograd3x3::Tile Winograd3x3::tile_for(int64_t N, int64_t H, int64_t W) {
  const int64_t t2 = tiles(Tile::F2x2, N, H, W), t4 = tiles(Tile::F4x4, N, H, W);
  return 32 * t2 - 72 * t4 > 80 * 12 ? Tile::F4x4 : Tile::F2x2;
}

int64_t Winograd3x3::tiles(Tile tile, int64_t N, int64_t H, int64_t W) {
  const int64_t m = int64_t(tile);
  return N * ((H + m - 1) / m) * ((W + m - 1) / m);
}

const char* Winograd3x3::name(Tile tile) { return tile == Tile::F4x4 ? "csg:winograd_f4x3" : "csg:winograd_f2x3"; }

Winograd3x3::Winograd3x3(const float* weight, int64_t O, int64_t C, int64_t vec, Tile tile, Pass pass)
    : O_(O), C_(C), vec_(vec), Op_(round_up(O, vec)), Cp_(round_up(C, vec)), tile_(tile), pass_(pass) {
  CSG_CHECK(vec == 8 || vec == 16, "Winograd3x3: channel block ", vec, " (8 or 16)");
  const int64_t a = int64_t(tile) + 2;
  u_.assign(a * a * Cp_ * Op_, 0.0f);
  set_weights(weight);
}

// U = G g G^T, stored U[k][c][o], k = a i + j. A training step transforms every layer's weights
// again for each pass, so this runs on 8 output channels at a time (SIMD lanes over o, whose U
// values lie side by side), one input channel c per task.
void Winograd3x3::set_weights(const float* weight) {
  const WeightRow row = tile_ == Tile::F4x4 ? weight_row_for<6>() : weight_row_for<4>();
  const bool forward = pass_ == Pass::Forward;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C_; ++c) row(weight, u_.data(), O_, C_, Cp_, Op_, c, forward);
}

void Winograd3x3::run(const float* x, const float* bias, float* y, int64_t N, int64_t H, int64_t W, bool accumulate,
                      bool relu) const {
  const int m = int(tile_), P = (m + 2) * (m + 2);
  const int64_t TH = (H + m - 1) / m, TW = (W + m - 1) / m, rows = N * TH;
  if (rows == 0 || TW == 0) return;  // an empty batch or map
  const InputRow input = m == 4 ? input_row_for<4>(vec_) : input_row_for<2>(vec_);
  const OutputRow output = m == 4 ? output_row_for<4>(vec_) : output_row_for<2>(vec_);
  // Rows of tiles a chunk: a working set (transformed input and products) of about `budget` bytes,
  // but at least `least` tiles, so that each product has rows enough for the sgemm's kernel.
  // The chunks depend on the shape only, so a result does not depend on the thread count.
  const int64_t budget = 1 << 20, least = 64;
  const int64_t tile_bytes = P * (Cp_ + Op_) * int64_t(sizeof(float));
  const int64_t want = std::max(least, budget / tile_bytes);
  const int64_t chunk_rows = std::min(rows, std::max<int64_t>(1, (want + TW - 1) / TW));
  const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const int threads = omp_get_max_threads();

  // One chunk: its P products M_k = V_k U_k, each on one thread, so that each sums in one order
  // whatever the thread count.
  auto products = [&](float* V, float* Mk, int64_t T, int k) {
#ifdef CSG_WITH_DNNL
    onednn::gemm(false, false, T, Op_, Cp_, 1.0f, V + k * T * Cp_, Cp_, u_.data() + k * Cp_ * Op_, Op_, 0.0f,
                 Mk + k * T * Op_, Op_);
#else
    blas::gemm(false, false, T, Op_, Cp_, 1.0f, V + k * T * Cp_, Cp_, u_.data() + k * Cp_ * Op_, Op_, 0.0f,
               Mk + k * T * Op_, Op_);
#endif
  };
  // V[k][t][c] and M[k][t][o] of one chunk, in grow-only buffers of the calling thread kept between
  // calls (host_scratch.h says why).
  auto scratch = [&](int64_t T, float** V, float** Mk) {
    thread_local HostScratch v_buffer, m_buffer;
    *V = static_cast<float*>(v_buffer.reserve(sizeof(float) * P * T * Cp_, "Winograd: transformed input"));
    *Mk = static_cast<float*>(m_buffer.reserve(sizeof(float) * P * T * Op_, "Winograd: products"));
  };

  if (chunks >= 2 * threads) {
    // Chunks enough to share: each thread takes whole chunks, its tiles staying in its own cache.
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t row0 = c * chunk_rows, n_rows = std::min(chunk_rows, rows - row0);
      const Tiles g{N, H, W, TH, TW, row0, n_rows * TW};
      float *V, *Mk;
      scratch(g.T, &V, &Mk);
      for (int64_t r = row0; r < row0 + n_rows; ++r)
        for (int64_t cb = 0; cb < Cp_ / vec_; ++cb) input(x, V, g, Cp_, r, cb);
      for (int k = 0; k < P; ++k) products(V, Mk, g.T, k);
      for (int64_t r = row0; r < row0 + n_rows; ++r)
        for (int64_t ob = 0; ob < Op_ / vec_; ++ob) output(Mk, bias, y, g, O_, Op_, r, ob, accumulate, relu);
    }
    return;
  }
  // Few chunks: all threads on each, the products shared out.
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t row0 = c * chunk_rows, n_rows = std::min(chunk_rows, rows - row0);
    const Tiles g{N, H, W, TH, TW, row0, n_rows * TW};
    float *V, *Mk;
    scratch(g.T, &V, &Mk);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t r = row0; r < row0 + n_rows; ++r)
      for (int64_t cb = 0; cb < Cp_ / vec_; ++cb) input(x, V, g, Cp_, r, cb);
#pragma omp parallel for schedule(static)
    for (int k = 0; k < P; ++k) products(V, Mk, g.T, k);  // oneDNN's sgemm runs on the calling thread here
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t r = row0; r < row0 + n_rows; ++r)
      for (int64_t ob = 0; ob < Op_ / vec_; ++ob) output(Mk, bias, y, g, O_, Op_, r, ob, accumulate, relu);
  }
}

}  // namespace csg
