// src/ops/winograd_f2x3.cpp — see winograd_f2x3.h. The transforms work on whole channel blocks
// (vec floats, one to four SIMD registers), which the compiler vectorises from the inner loops.
#include "src/ops/winograd_f2x3.h"

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

// Where the tiles lie: 2x2 output tiles, TH x TW per image, T in all; step is the distance between
// two of the 16 transformed planes ([T, Cp] for the input, [T, Op] for the products).
struct Tiles {
  int64_t N, H, W, TH, TW, T;
};

// Input: V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], on the 4x4 patch d whose
// corner is (2 th - 1, 2 tw - 1); rows and columns past the edge are the padding's zeros. One row
// of tiles (image n, tile row th) of one channel block cb. VEC, the block, is a constant here, so
// that each loop over l is one or two SIMD operations.
template <int VEC>
[[gnu::always_inline]] inline void input_row(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth,
                                             int64_t cb) {
  const int64_t CB = Cp / VEC, step = g.T * Cp, n = nth / g.TH, th = nth % g.TH;
  const float* plane = x + (n * CB + cb) * g.H * g.W * VEC;
  for (int64_t tw = 0; tw < g.TW; ++tw) {
    alignas(64) float d[4][4][VEC];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t h = 2 * th - 1 + i, w = 2 * tw - 1 + j;
        if (h >= 0 && h < g.H && w >= 0 && w < g.W) {
          const float* p = plane + (h * g.W + w) * VEC;
#pragma omp simd
          for (int l = 0; l < VEC; ++l) d[i][j][l] = p[l];
        } else {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) d[i][j][l] = 0.0f;
        }
      }
    alignas(64) float r[4][4][VEC];  // B^T d
    for (int j = 0; j < 4; ++j) {
#pragma omp simd
      for (int l = 0; l < VEC; ++l) {
        r[0][j][l] = d[0][j][l] - d[2][j][l];
        r[1][j][l] = d[1][j][l] + d[2][j][l];
        r[2][j][l] = d[2][j][l] - d[1][j][l];
        r[3][j][l] = d[1][j][l] - d[3][j][l];
      }
    }
    float* out = V + (nth * g.TW + tw) * Cp + cb * VEC;
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
}

// Output: Y = A^T m A, A^T = [1 1 1 0; 0 1 -1 -1], + bias (+ y), ReLU, for one row of tiles of one
// block ob of output channels; the tile's second row or column is dropped past the edge of an odd map.
template <int VEC>
[[gnu::always_inline]] inline void output_row(const float* M, const float* bias, float* y, const Tiles& g, int64_t O,
                                              int64_t Op, int64_t nth, int64_t ob, bool accumulate, bool relu) {
  const int64_t OB = Op / VEC, step = g.T * Op, n = nth / g.TH, th = nth % g.TH;
  float* plane = y + (n * OB + ob) * g.H * g.W * VEC;
  alignas(64) float b[VEC];
  for (int l = 0; l < VEC; ++l) b[l] = bias && ob * VEC + l < O ? bias[ob * VEC + l] : 0.0f;
  for (int64_t tw = 0; tw < g.TW; ++tw) {
    const float* m = M + (nth * g.TW + tw) * Op + ob * VEC;
    alignas(64) float s[2][4][VEC];  // A^T m
    for (int j = 0; j < 4; ++j) {
#pragma omp simd
      for (int l = 0; l < VEC; ++l) {
        const float m0 = m[j * step + l], m1 = m[(4 + j) * step + l], m2 = m[(8 + j) * step + l],
                    m3 = m[(12 + j) * step + l];
        s[0][j][l] = m0 + m1 + m2;
        s[1][j][l] = m1 - m2 - m3;
      }
    }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        const int64_t h = 2 * th + i, w = 2 * tw + j;
        if (h >= g.H || w >= g.W) continue;
        float* p = plane + (h * g.W + w) * VEC;
        alignas(64) float v[VEC];
        if (j == 0) {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[l] = s[i][0][l] + s[i][1][l] + s[i][2][l] + b[l];
        } else {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[l] = s[i][1][l] - s[i][2][l] - s[i][3][l] + b[l];
        }
        if (accumulate) {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[l] += p[l];
        }
        if (relu) {
#pragma omp simd
          for (int l = 0; l < VEC; ++l) v[l] = std::max(v[l], 0.0f);
        }
#pragma omp simd
        for (int l = 0; l < VEC; ++l) p[l] = v[l];
      }
  }
}

// Each row function twice: for the x86-64 baseline (SSE2, four floats an operation) and for AVX2
// (eight), chosen at run time, so that one binary runs everywhere and uses the wider registers
// where they exist (the only CPUs that come here are those without AVX-512).
using InputRow = void (*)(const float*, float*, const Tiles&, int64_t, int64_t, int64_t);
using OutputRow = void (*)(const float*, const float*, float*, const Tiles&, int64_t, int64_t, int64_t, int64_t, bool,
                           bool);

template <int VEC>
void input_row_base(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth, int64_t cb) {
  input_row<VEC>(x, V, g, Cp, nth, cb);
}
template <int VEC>
void output_row_base(const float* M, const float* bias, float* y, const Tiles& g, int64_t O, int64_t Op, int64_t nth,
                     int64_t ob, bool accumulate, bool relu) {
  output_row<VEC>(M, bias, y, g, O, Op, nth, ob, accumulate, relu);
}
#if defined(__x86_64__)
template <int VEC>
[[gnu::target("avx2,fma")]] void input_row_avx2(const float* x, float* V, const Tiles& g, int64_t Cp, int64_t nth,
                                                int64_t cb) {
  input_row<VEC>(x, V, g, Cp, nth, cb);
}
template <int VEC>
[[gnu::target("avx2,fma")]] void output_row_avx2(const float* M, const float* bias, float* y, const Tiles& g, int64_t O,
                                                 int64_t Op, int64_t nth, int64_t ob, bool accumulate, bool relu) {
  output_row<VEC>(M, bias, y, g, O, Op, nth, ob, accumulate, relu);
}
bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
template <int VEC>
InputRow input_row_for_cpu() {
  return has_avx2() ? input_row_avx2<VEC> : input_row_base<VEC>;
}
template <int VEC>
OutputRow output_row_for_cpu() {
  return has_avx2() ? output_row_avx2<VEC> : output_row_base<VEC>;
}
#else
template <int VEC>
InputRow input_row_for_cpu() {
  return input_row_base<VEC>;
}
template <int VEC>
OutputRow output_row_for_cpu() {
  return output_row_base<VEC>;
}
#endif

}  // namespace

WinogradF2x3::WinogradF2x3(const float* weight, int64_t O, int64_t C, int64_t vec, Pass pass)
    : O_(O), C_(C), vec_(vec), Op_(round_up(O, vec)), Cp_(round_up(C, vec)), pass_(pass), u_(16 * Cp_ * Op_, 0.0f) {
  CSG_CHECK(vec == 8 || vec == 16, "WinogradF2x3: channel block ", vec, " (8 or 16)");
  set_weights(weight);
}

// U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], stored U[k][c][o], k = 4 i + j.
void WinogradF2x3::set_weights(const float* weight) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < O_; ++o)
    for (int64_t c = 0; c < C_; ++c) {
      float g[9];  // this convolution's kernel from input c to output o
      if (pass_ == Pass::Forward) {
        std::copy_n(weight + (o * C_ + c) * 9, 9, g);
      } else {  // the forward kernel from o to c, flipped
        const float* f = weight + (c * O_ + o) * 9;
        for (int i = 0; i < 9; ++i) g[i] = f[8 - i];
      }
      float t[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; ++i) {
        const float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                            t[i][2]};
        for (int j = 0; j < 4; ++j) u_[((4 * i + j) * Cp_ + c) * Op_ + o] = u[j];
      }
    }
}

void WinogradF2x3::run(const float* x, const float* bias, float* y, int64_t N, int64_t H, int64_t W,
                       bool accumulate, bool relu) const {
  const int64_t TH = (H + 1) / 2, TW = (W + 1) / 2;
  const Tiles g{N, H, W, TH, TW, N * TH * TW};
  // V[k][t][c] and M[k][t][o], in grow-only buffers of the calling thread kept between calls
  // (host_scratch.h says why).
  thread_local HostScratch v_buffer, m_buffer;
  float* V = static_cast<float*>(v_buffer.reserve(sizeof(float) * 16 * g.T * Cp_, "Winograd: transformed input"));
  float* M = static_cast<float*>(m_buffer.reserve(sizeof(float) * 16 * g.T * Op_, "Winograd: products"));
  const InputRow input = vec_ == 8 ? input_row_for_cpu<8>() : input_row_for_cpu<16>();
  const OutputRow output = vec_ == 8 ? output_row_for_cpu<8>() : output_row_for_cpu<16>();

#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t nth = 0; nth < N * TH; ++nth)
    for (int64_t cb = 0; cb < Cp_ / vec_; ++cb) input(x, V, g, Cp_, nth, cb);

  // The 16 products M_k = V_k U_k, one per thread at a time: each sums in one order whatever the
  // thread count, so a result does not depend on it.
#ifdef CSG_WITH_DNNL
#pragma omp parallel for schedule(static)
  for (int k = 0; k < 16; ++k)  // oneDNN's sgemm runs on the calling thread inside a parallel region
    onednn::gemm(false, false, g.T, Op_, Cp_, 1.0f, V + k * g.T * Cp_, Cp_, u_.data() + k * Cp_ * Op_, Op_, 0.0f,
                 M + k * g.T * Op_, Op_);
#else
  for (int k = 0; k < 16; ++k)
    blas::gemm(false, false, g.T, Op_, Cp_, 1.0f, V + k * g.T * Cp_, Cp_, u_.data() + k * Cp_ * Op_, Op_, 0.0f,
               M + k * g.T * Op_, Op_);
#endif

#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t nth = 0; nth < N * TH; ++nth)
    for (int64_t ob = 0; ob < Op_ / vec_; ++ob) output(M, bias, y, g, O_, Op_, nth, ob, accumulate, relu);
}

}  // namespace csg
