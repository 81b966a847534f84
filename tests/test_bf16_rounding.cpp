// tests/test_bf16_rounding.cpp — the f32 -> BF16 rounding of kernels/bf16.h (what the CUDA
// `--precision bf16` convolutions read): hand-picked values with known results, bit for bit
// against oneDNN's f32 -> bf16 reorder (what the CPU path reads), and the CUDA cast kernels
// against the scalar function (skip without a GPU).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tests/testing.h"

#ifdef CSG_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif
#ifdef CSG_WITH_CUDA
#endif

using namespace csg;

namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
bool subnormal_bits(uint32_t u) { return (u & 0x7f800000u) == 0 && (u & 0x007fffffu) != 0; }

// Every kind of input the rounding has a rule for: random bit patterns (all magnitudes, both
// signs, a few NaNs and subnormals among them), exact ties and their neighbours at random
// magnitudes, subnormals, zeros, infinities, NaNs with payloads, and values next to the largest
// finite BF16 (0x7f7f...), which round up to infinity.
std::vector<uint32_t> rounding_inputs() {
  std::mt19937 rng(20240601);
  std::vector<uint32_t> v;
  for (int i = 0; i < 4000; ++i) v.push_back(rng());
  for (int i = 0; i < 1000; ++i) {
    const uint32_t high = rng() & 0xffff0000u;
    for (uint32_t low : {0x8000u, 0x7fffu, 0x8001u}) v.push_back(high | low);  // ties, below, above
    v.push_back((high | 0x00010000u) | 0x8000u);                               // a tie with an odd kept part
  }
  for (int i = 0; i < 200; ++i) v.push_back(rng() & 0x807fffffu);  // subnormals (and the odd zero)
  const uint32_t special[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x00008000u, 0x00008001u, 0x007fffffu,
                              0x807fffffu, 0x00800000u, 0x80800000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                              0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fbfffffu, 0x7fffffffu, 0xffffffffu,
                              0x7f7fffffu, 0xff7fffffu, 0x7f7f8000u, 0x7f7f7fffu, 0x7f7e8000u, 0x3f800000u};
  v.insert(v.end(), std::begin(special), std::end(special));
  return v;
}

}  // namespace

// Known results: ties go to the even neighbour, anything above a tie rounds up, the largest
// f32 values round up to infinity, NaN stays a (quiet) NaN with its sign, subnormals become a
// zero of their sign. Truncation would fail the tie and round-up rows.
TEST(Bf16Rounding, HandPickedValues) {
  const struct {
    uint32_t in;
    uint16_t out;
  } rows[] = {
      {0x3f800000u, 0x3f80},  // 1
      {0x3f808000u, 0x3f80},  // 1 + 2^-8: a tie, the kept part even: down
      {0x3f818000u, 0x3f82},  // a tie, the kept part odd: up to the even one
      {0x3f808001u, 0x3f81},  // just above the tie: up
      {0x3f807fffu, 0x3f80},  // just below: down
      {0xbf818000u, 0xbf82},  // negative values round by magnitude
      {0x7f7fffffu, 0x7f80},  // FLT_MAX: past the largest BF16, infinity
      {0xff7fffffu, 0xff80},
      {0x7f7f8000u, 0x7f80},  // a tie at the largest BF16 (odd): up, to infinity
      {0x7f7f7fffu, 0x7f7f},  // just below it: the largest BF16
      {0x7f800000u, 0x7f80},  // infinities stay
      {0xff800000u, 0xff80},
      {0x7fc00000u, 0x7fc0},  // NaN: quiet, sign and upper payload kept
      {0x7f800001u, 0x7fc0},  // a signalling NaN whose payload is all in the dropped half
      {0xff812345u, 0xffc1},
      {0x00000000u, 0x0000},
      {0x80000000u, 0x8000},
      {0x007fffffu, 0x0000},  // the largest subnormal: zero (oneDNN / VCVTNEPS2BF16 flush them)
      {0x807fffffu, 0x8000},
      {0x00000001u, 0x0000},
      {0x00800000u, 0x0080},  // the smallest normal
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(::testing::Message() << std::hex << "input 0x" << r.in);
    EXPECT_EQ(bf16_bits_from_f32(from_bits(r.in)), r.out);
  }
  EXPECT_EQ(bits_of(f32_from_bf16_bits(0x3f82)), 0x3f820000u);  // widening appends zero bits
  EXPECT_TRUE(std::isnan(round_to_bf16(std::nanf(""))));
  // Every finite normal input is within half a BF16 ulp (2^-8 relative at most) of its rounding.
  for (uint32_t u : rounding_inputs()) {
    const float f = from_bits(u);
    if (!std::isfinite(f) || subnormal_bits(u) || f == 0) continue;
    const float r = round_to_bf16(f);
    if (std::isinf(r)) continue;  // the few above the largest BF16
    ASSERT_LE(std::fabs(double(r) - f), std::ldexp(std::fabs(double(f)), -8)) << std::hex << "input 0x" << u;
  }
}

#ifdef CSG_WITH_DNNL
// Bit for bit the same as oneDNN's reorder. Two kinds of input depend on the code path oneDNN
// takes: it flushes subnormals to zero with the BF16 instructions (VCVTNEPS2BF16) and in its
// reference code but keeps them in its AVX-512 emulation, and its AVX2 reorder turns -0 into +0.
// Those are compared only where the CPU has BF16 (the CPUs where `--precision bf16` runs on
// oneDNN; oneDNN 2.6 there: every input agrees), and checked by HandPickedValues everywhere.
TEST(Bf16Rounding, MatchesOneDnnReorderBitForBit) {
  const std::vector<uint32_t> in = rounding_inputs();
  const auto n = static_cast<dnnl::memory::dim>(in.size());
  std::vector<uint16_t> onednn_out(in.size());
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::memory src({{n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a}, engine,
                   const_cast<uint32_t*>(in.data()));
  dnnl::memory dst({{n}, dnnl::memory::data_type::bf16, dnnl::memory::format_tag::a}, engine, onednn_out.data());
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();

  const bool bf16_cpu = onednn::has_bf16(nullptr);
  int64_t compared = 0, mismatches = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool path_dependent = subnormal_bits(in[i]) || in[i] == 0x80000000u;
    if (path_dependent && !bf16_cpu) continue;
    ++compared;
    const uint16_t ours = bf16_bits_from_f32(from_bits(in[i]));
    if (ours != onednn_out[i] && mismatches++ < 5)
      ADD_FAILURE() << std::hex << "input 0x" << in[i] << ": ours 0x" << ours << ", oneDNN 0x" << onednn_out[i];
  }
  EXPECT_EQ(mismatches, 0) << "of " << compared << " inputs";
  EXPECT_GT(compared, 7900);
}
#endif

// The CUDA cast kernels: f32 -> BF16 gives the scalar function's bits for every input above,
// BF16 -> f32 widens all 65536 patterns exactly, and the accumulating form adds in f32.
TEST(CudaBf16, CastKernelsMatchTheScalarRounding) {
  CSG_REQUIRE_CUDA();
#ifdef CSG_WITH_CUDA
  const std::vector<uint32_t> in = rounding_inputs();
  const int64_t n = static_cast<int64_t>(in.size());
  float* d_in = static_cast<float*>(kernels::device_alloc(n * sizeof(float)));
  uint16_t* d_bf16 = static_cast<uint16_t*>(kernels::device_alloc(n * sizeof(uint16_t)));
  kernels::copy_host_to_device(d_in, in.data(), n * sizeof(float));
  kernels::f32_to_bf16(d_in, d_bf16, n);
  std::vector<uint16_t> rounded(n);
  kernels::copy_device_to_host(rounded.data(), d_bf16, n * sizeof(uint16_t));
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    if (rounded[i] != bf16_bits_from_f32(from_bits(in[i])) && bad++ < 5)
      ADD_FAILURE() << std::hex << "f32_to_bf16 of 0x" << in[i] << " gave 0x" << rounded[i];
  EXPECT_EQ(bad, 0);
  kernels::device_free(d_in);
  kernels::device_free(d_bf16);

  const int64_t m = 65536;
  std::vector<uint16_t> patterns(m);
  for (int64_t i = 0; i < m; ++i) patterns[i] = static_cast<uint16_t>(i);
  uint16_t* d_patterns = static_cast<uint16_t*>(kernels::device_alloc(m * sizeof(uint16_t)));
  float* d_wide = static_cast<float*>(kernels::device_alloc(m * sizeof(float)));
  kernels::copy_host_to_device(d_patterns, patterns.data(), m * sizeof(uint16_t));
  kernels::bf16_to_f32(d_patterns, d_wide, m);
  std::vector<uint32_t> wide(m);
  kernels::copy_device_to_host(wide.data(), d_wide, m * sizeof(float));
  for (int64_t i = 0; i < m; ++i)
    ASSERT_EQ(wide[i], static_cast<uint32_t>(i) << 16) << "bf16_to_f32 of pattern " << i;

  const std::vector<float> ones(m, 1.0f);
  kernels::copy_host_to_device(d_wide, ones.data(), m * sizeof(float));
  kernels::bf16_to_f32(d_patterns, d_wide, m, /*accumulate=*/true);
  std::vector<float> sums(m);
  kernels::copy_device_to_host(sums.data(), d_wide, m * sizeof(float));
  for (int64_t i = 0; i < m; ++i) {
    const float want = 1.0f + f32_from_bf16_bits(static_cast<uint16_t>(i));
    if (std::isnan(want))
      ASSERT_TRUE(std::isnan(sums[i])) << "pattern " << i;
    else
      ASSERT_EQ(bits_of(sums[i]), bits_of(want)) << "1 + pattern " << i;
  }
  kernels::device_free(d_patterns);
  kernels::device_free(d_wide);
#endif
}
