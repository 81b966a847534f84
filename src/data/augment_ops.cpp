// src/data/augment_ops.cpp — PIL / torchvision / OpenCV image operations, to the byte.
//
// Each function follows the C (or Python) code of the library it reproduces, including the
// precision of every intermediate: Pillow's blends and filters work in float32 and truncate,
// its HSV conversion mixes float and double, its rotation builds the matrix in Python doubles
// (rounded to 15 decimals) and samples in 16.16 fixed point; OpenCV's bilinear resize uses
// 11-bit weights. Where the source widens float to double (a double literal in a float
// expression) the code below spells out the same casts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "csg/augment.h"
#include "csg/error.h"

namespace csg::augment {

namespace {

Image blank_like(const Image& im) {
  Image out;
  out.width = im.width;
  out.height = im.height;
  out.rgb.assign(im.rgb.size(), 0);
  return out;
}

void check_image(const Image& im, const char* op) {
  CSG_CHECK(im.width > 0 && im.height > 0 && im.rgb.size() == static_cast<size_t>(im.width) * im.height * 3, op,
            ": expected a non-empty RGB image, got ", im.width, "x", im.height, " with ", im.rgb.size(), " bytes");
}

inline uint8_t clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : (v < 256 ? v : 255)); }

// Pillow's ImagingBlend for one byte: a + alpha * (b - a) in float32, truncated. Pillow clamps
// only when alpha is outside [0, 1]; inside, the float result already lies between a and b.
inline uint8_t blend_value(int a, int b, float alpha) {
  const float t = static_cast<float>(a) + alpha * static_cast<float>(b - a);
  return t <= 0.0f ? 0 : (t >= 255.0f ? 255 : static_cast<uint8_t>(t));
}

// blend_value for one alpha. For `n` bytes or more it tabulates all (a, b) pairs first: the
// 64 KiB table is cheaper than the float arithmetic on large images and gives the same bytes.
class BlendTable {
 public:
  BlendTable(float alpha, size_t n) : alpha_(alpha) {
    if (n < 65536) return;
    t_.resize(65536);
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) t_[(a << 8) | b] = blend_value(a, b, alpha);
  }
  uint8_t operator()(int a, int b) const { return t_.empty() ? blend_value(a, b, alpha_) : t_[(a << 8) | b]; }

 private:
  float alpha_;
  std::vector<uint8_t> t_;
};

// Per-channel histograms of an RGB image (Image.histogram()).
std::array<std::array<int64_t, 256>, 3> histograms(const Image& im) {
  std::array<std::array<int64_t, 256>, 3> h{};
  const size_t n = im.rgb.size() / 3;
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) ++h[c][im.rgb[i * 3 + c]];
  return h;
}

std::array<uint8_t, 256> identity_lut() {
  std::array<uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
  return lut;
}

// Python's float % (the result takes the sign of the divisor).
double python_mod(double x, double m) {
  double r = std::fmod(x, m);
  if (r != 0.0) {
    if ((m < 0) != (r < 0)) r += m;
  } else {
    r = std::copysign(0.0, m);
  }
  return r;
}

// Python's round(x, 15): the correctly rounded 15-decimal value, read back. glibc's printf
// rounds the exact binary value half to even, as CPython's dtoa does.
double python_round15(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15f", x);
  return std::strtod(buf, nullptr);
}

// Pillow's COORD and FLOOR macros (Geometry.c); coordinates past INT_MAX (out of any image)
// are pinned there instead of overflowing.
inline int pil_coord(double v) { return v < 0.0 ? -1 : (v < 2147483647.0 ? static_cast<int>(v) : 2147483647); }
inline int pil_floor(double v) { return v < 0.0 ? static_cast<int>(std::floor(v)) : static_cast<int>(v); }
inline int pil_fix(double v) { return pil_floor(v * 65536.0 + 0.5); }

inline void copy_px(Image& out, int x, int y, const Image& in, int xi, int yi) {
  std::memcpy(out.at(x, y), in.at(xi, yi), 3);
}

// ImagingScaleAffine: a1 == a3 == 0, double coordinates stepped incrementally.
void scale_affine(const Image& im, const std::array<double, 6>& a, Image& out) {
  const int w = im.width, h = im.height;
  std::vector<int> xin(w, -1);
  double xo = a[2] + a[0] * 0.5;
  for (int x = 0; x < w; ++x) {
    const int xi = pil_coord(xo);
    if (xi >= 0 && xi < w) xin[x] = xi;
    xo += a[0];
  }
  double yo = a[5] + a[4] * 0.5;
  for (int y = 0; y < h; ++y) {
    const int yi = pil_coord(yo);
    if (yi >= 0 && yi < h)
      for (int x = 0; x < w; ++x)
        if (xin[x] >= 0) copy_px(out, x, y, im, xin[x], yi);
    yo += a[4];
  }
}

bool fits_fixed(const std::array<double, 6>& a, int x, int y) {
  return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

// affine_fixed: 16.16 fixed point, each row starting from the previous row's start.
void fixed_affine(const Image& im, const std::array<double, 6>& a, Image& out) {
  const int w = im.width, h = im.height;
  const int a0 = pil_fix(a[0]), a1 = pil_fix(a[1]), a3 = pil_fix(a[3]), a4 = pil_fix(a[4]);
  int a2 = pil_fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
  int a5 = pil_fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
  for (int y = 0; y < h; ++y) {
    int xx = a2, yy = a5;
    for (int x = 0; x < w; ++x) {
      const int xi = xx >> 16;  // arithmetic shift: floor, as in Pillow
      if (xi >= 0 && xi < w) {
        const int yi = yy >> 16;
        if (yi >= 0 && yi < h) copy_px(out, x, y, im, xi, yi);
      }
      xx += a0;
      yy += a3;
    }
    a2 += a1;
    a5 += a4;
  }
}

// The double-precision fallback of ImagingTransformAffine (coordinates beyond 16.16 range).
void float_affine(const Image& im, const std::array<double, 6>& a, Image& out) {
  const int w = im.width, h = im.height;
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
  double yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int y = 0; y < h; ++y) {
    double xx = xo, yy = yo;
    for (int x = 0; x < w; ++x) {
      const int xi = pil_coord(xx);
      if (xi >= 0 && xi < w) {
        const int yi = pil_coord(yy);
        if (yi >= 0 && yi < h) copy_px(out, x, y, im, xi, yi);
      }
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
}

Image rotate180(const Image& im) {
  Image out = blank_like(im);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) copy_px(out, x, y, im, im.width - 1 - x, im.height - 1 - y);
  return out;
}

// Pillow's HSV conversion (Convert.c rgb2hsv_row / hsv2rgb) mixes float and double; every
// quantity it computes depends on at most two bytes, so those are tabulated once (with the
// same expressions) and each pixel costs a few lookups and two double products.
struct HsvTables {
  float quot[256][256];   // (float)d / (float)cr, the rc / gc / bc of rgb2hsv
  uint8_t sat[256][256];  // [max][min]: CLIP8((int)(s * 255.0)), s = (float)(max - min) / (float)max
  int sector[256];        // [h]: i = floor((float)h * 6.0 / 255.0)
  uint8_t p[256][256];    // [s][v]: round(v * (1.0 - fs))
  double qk[256][256];    // [s][h]: 1.0 - fs * f   (fs * f is a float product in C)
  double tk[256][256];    // [s][h]: 1.0 - fs * (1.0 - f)   (double)

  HsvTables() {
    for (int cr = 0; cr < 256; ++cr)
      for (int d = 0; d < 256; ++d) quot[cr][d] = cr ? static_cast<float>(d) / static_cast<float>(cr) : 0.0f;
    for (int mx = 0; mx < 256; ++mx)
      for (int mn = 0; mn < 256; ++mn) {
        const float s = mx ? static_cast<float>(mx - mn) / static_cast<float>(mx) : 0.0f;
        sat[mx][mn] = clip8(static_cast<int>(static_cast<double>(s) * 255.0));
      }
    float frac[256];
    for (int h = 0; h < 256; ++h) {
      const double h6 = static_cast<double>(static_cast<float>(h)) * 6.0 / 255.0;
      sector[h] = static_cast<int>(std::floor(h6));
      frac[h] = static_cast<float>(h6 - static_cast<double>(static_cast<float>(sector[h])));
    }
    for (int s = 0; s < 256; ++s) {
      const float fs = static_cast<float>(static_cast<double>(static_cast<float>(s)) / 255.0);
      for (int v = 0; v < 256; ++v)
        p[s][v] = clip8(static_cast<int>(std::round(static_cast<double>(v) * (1.0 - static_cast<double>(fs)))));
      for (int h = 0; h < 256; ++h) {
        const float f = frac[h];
        qk[s][h] = 1.0 - static_cast<double>(fs * f);
        tk[s][h] = 1.0 - static_cast<double>(fs) * (1.0 - static_cast<double>(f));
      }
    }
  }
};

const HsvTables& hsv_tables() {
  static const HsvTables* tables = new HsvTables();  // built once, thread-safe, never freed
  return *tables;
}

inline void rgb_to_hsv(const HsvTables& T, const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  uint8_t uh = 0, us = 0;
  if (minc != maxc) {
    const int cr = maxc - minc;
    const float rc = T.quot[cr][maxc - r], gc = T.quot[cr][maxc - g], bc = T.quot[cr][maxc - b];
    float h;
    if (r == maxc)
      h = bc - gc;  // float
    else if (g == maxc)
      h = static_cast<float>(2.0 + static_cast<double>(rc) - static_cast<double>(bc));  // double, stored float
    else
      h = static_cast<float>(4.0 + static_cast<double>(gc) - static_cast<double>(rc));
    // fmod(h / 6.0 + 1.0, 1.0) with h in [-1, 5]: the argument lies in [5/6, 11/6], where
    // subtracting 1 is exact, so this equals Pillow's fmod.
    double x = static_cast<double>(h) / 6.0 + 1.0;
    if (x >= 1.0) x -= 1.0;
    h = static_cast<float>(x);
    uh = clip8(static_cast<int>(static_cast<double>(h) * 255.0));
    us = T.sat[maxc][minc];
  }
  out[0] = uh;
  out[1] = us;
  out[2] = maxc;
}

inline void hsv_to_rgb(const HsvTables& T, const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const double vd = static_cast<double>(v);
  const uint8_t up = T.p[s][v];
  const uint8_t uq = clip8(static_cast<int>(std::round(vd * T.qk[s][h])));
  const uint8_t ut = clip8(static_cast<int>(std::round(vd * T.tk[s][h])));
  switch (T.sector[h] % 6) {
    case 0: out[0] = v; out[1] = ut; out[2] = up; break;
    case 1: out[0] = uq; out[1] = v; out[2] = up; break;
    case 2: out[0] = up; out[1] = v; out[2] = ut; break;
    case 3: out[0] = up; out[1] = uq; out[2] = v; break;
    case 4: out[0] = ut; out[1] = up; out[2] = v; break;
    default: out[0] = v; out[1] = up; out[2] = uq; break;
  }
}

}  // namespace

// ---- draws ------------------------------------------------------------------------------------

double uniform01(Generator& gen) { return counter_uniform(gen.seed(), gen.take(1)); }

double uniform(Generator& gen, double lo, double hi) { return lo + (hi - lo) * uniform01(gen); }

int randint(Generator& gen, int lo, int hi) {
  CSG_CHECK(lo <= hi, "randint: empty range [", lo, ", ", hi, "]");
  const int64_t span = static_cast<int64_t>(hi) - lo + 1;
  const int64_t k = static_cast<int64_t>(uniform01(gen) * static_cast<double>(span));
  return static_cast<int>(lo + std::min(k, span - 1));
}

// ---- point operations -------------------------------------------------------------------------

std::vector<uint8_t> to_grey(const Image& im) {
  check_image(im, "to_grey");
  const size_t n = im.rgb.size() / 3;
  std::vector<uint8_t> l(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &im.rgb[i * 3];
    l[i] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
  }
  return l;
}

Image apply_lut(const Image& im, const std::array<std::array<uint8_t, 256>, 3>& luts) {
  check_image(im, "apply_lut");
  Image out = blank_like(im);
  const size_t n = im.rgb.size() / 3;
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) out.rgb[i * 3 + c] = luts[c][im.rgb[i * 3 + c]];
  return out;
}

Image apply_lut(const Image& im, const std::array<uint8_t, 256>& lut) { return apply_lut(im, {lut, lut, lut}); }

Image autocontrast(const Image& im) {
  check_image(im, "autocontrast");
  const auto h = histograms(im);
  std::array<std::array<uint8_t, 256>, 3> luts;
  for (int c = 0; c < 3; ++c) {
    int lo = 0, hi = 255;
    while (lo < 255 && h[c][lo] == 0) ++lo;
    while (hi > 0 && h[c][hi] == 0) --hi;
    if (hi <= lo) {
      luts[c] = identity_lut();
      continue;
    }
    const double scale = 255.0 / (hi - lo);
    const double offset = -lo * scale;
    for (int i = 0; i < 256; ++i) {
      const int v = static_cast<int>(i * scale + offset);  // int() truncates toward zero
      luts[c][i] = clip8(v);
    }
  }
  return apply_lut(im, luts);
}

Image equalize(const Image& im) {
  check_image(im, "equalize");
  const auto h = histograms(im);
  std::array<std::array<uint8_t, 256>, 3> luts;
  for (int c = 0; c < 3; ++c) {
    int used = 0;
    int64_t total = 0, last = 0;
    for (int i = 0; i < 256; ++i)
      if (h[c][i]) {
        ++used;
        total += h[c][i];
        last = h[c][i];
      }
    const int64_t step = used <= 1 ? 0 : (total - last) / 255;
    if (step == 0) {
      luts[c] = identity_lut();
      continue;
    }
    int64_t n = step / 2;
    for (int i = 0; i < 256; ++i) {
      luts[c][i] = static_cast<uint8_t>(std::min<int64_t>(n / step, 255));  // Image.point clips to 8 bits
      n += h[c][i];
    }
  }
  return apply_lut(im, luts);
}

Image posterize(const Image& im, int bits) {
  CSG_CHECK(bits >= 1 && bits <= 8, "posterize: bits must be in [1, 8], got ", bits);
  const int mask = ~((1 << (8 - bits)) - 1);
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i & mask);
  return apply_lut(im, lut);
}

Image solarize(const Image& im, double threshold) {
  std::array<uint8_t, 256> lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
  return apply_lut(im, lut);
}

Image blend(const Image& a, const Image& b, double alpha) {
  CSG_CHECK(a.width == b.width && a.height == b.height && a.rgb.size() == b.rgb.size(), "blend: sizes differ: ",
            a.width, "x", a.height, " and ", b.width, "x", b.height);
  const float alpha_f = static_cast<float>(alpha);  // Pillow passes alpha to C as float
  if (alpha_f == 0.0f) return a;
  if (alpha_f == 1.0f) return b;
  const BlendTable table(alpha_f, a.rgb.size());
  Image out = blank_like(a);
  for (size_t i = 0; i < a.rgb.size(); ++i) out.rgb[i] = table(a.rgb[i], b.rgb[i]);
  return out;
}

Image smooth(const Image& im) {
  check_image(im, "smooth");
  if (im.width < 3 || im.height < 3) return im;
  // Kernel weights are divided by the scale in float before filtering (Pillow _filter).
  const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
  const float offset = 0.5f;  // Pillow adds 0.5 so that the final truncation rounds
  Image out = im;             // border rows and columns stay as they are
  const int w = im.width;
  for (int y = 1; y < im.height - 1; ++y) {
    const uint8_t* below = im.at(0, y + 1);
    const uint8_t* mid = im.at(0, y);
    const uint8_t* above = im.at(0, y - 1);
    for (int x = 1; x < w - 1; ++x)
      for (int c = 0; c < 3; ++c) {
        const int l = (x - 1) * 3 + c, m = x * 3 + c, r = (x + 1) * 3 + c;
        float ss = offset;
        // Same association as Pillow: row y+1, row y, row y-1, each summed left to right.
        ss += static_cast<float>(below[l]) * k1 + static_cast<float>(below[m]) * k1 + static_cast<float>(below[r]) * k1;
        ss += static_cast<float>(mid[l]) * k1 + static_cast<float>(mid[m]) * k5 + static_cast<float>(mid[r]) * k1;
        ss += static_cast<float>(above[l]) * k1 + static_cast<float>(above[m]) * k1 + static_cast<float>(above[r]) * k1;
        out.at(x, y)[c] = ss <= 0.0f ? 0 : (ss >= 255.0f ? 255 : static_cast<uint8_t>(ss));
      }
  }
  return out;
}

Image enhance_color(const Image& im, double factor) {
  check_image(im, "enhance_color");
  const std::vector<uint8_t> l = to_grey(im);  // the degenerate image is L replicated to RGB
  const BlendTable table(static_cast<float>(factor), im.rgb.size());
  Image out = blank_like(im);
  for (size_t i = 0; i < l.size(); ++i)
    for (int c = 0; c < 3; ++c) out.rgb[i * 3 + c] = table(l[i], im.rgb[i * 3 + c]);
  return out;
}

int mean_grey_level(const Image& im) {
  check_image(im, "mean_grey_level");
  std::array<int64_t, 256> h{};
  for (uint8_t v : to_grey(im)) ++h[v];
  double sum = 0.0;  // ImageStat: a float sum of j * count over the histogram
  for (int j = 0; j < 256; ++j) sum += static_cast<double>(j * h[j]);
  return static_cast<int>(sum / static_cast<double>(im.rgb.size() / 3) + 0.5);
}

Image blend_from_constant(const Image& im, int level, double factor) {
  CSG_CHECK(level >= 0 && level <= 255, "blend_from_constant: level must be in [0, 255], got ", level);
  std::array<uint8_t, 256> lut;
  for (int v = 0; v < 256; ++v) lut[v] = blend_value(level, v, static_cast<float>(factor));
  return apply_lut(im, lut);
}

Image enhance_contrast(const Image& im, double factor) {
  return blend_from_constant(im, mean_grey_level(im), factor);
}

Image enhance_brightness(const Image& im, double factor) {
  check_image(im, "enhance_brightness");
  return blend_from_constant(im, 0, factor);
}

Image enhance_sharpness(const Image& im, double factor) {
  check_image(im, "enhance_sharpness");
  return blend(smooth(im), im, factor);
}

// ---- geometry -----------------------------------------------------------------------------------

Image affine_nearest(const Image& im, const std::array<double, 6>& a) {
  check_image(im, "affine_nearest");
  for (double v : a) CSG_CHECK(std::isfinite(v), "affine_nearest: coefficients must be finite, got ", v);
  Image out = blank_like(im);
  const int w = im.width, h = im.height;
  if (a[1] == 0 && a[3] == 0)
    scale_affine(im, a, out);
  else if (fits_fixed(a, 0, 0) && fits_fixed(a, w, h) && fits_fixed(a, 0, h) && fits_fixed(a, w, 0))
    fixed_affine(im, a, out);
  else
    float_affine(im, a, out);
  return out;
}

Image rotate(const Image& im, double degrees) {
  check_image(im, "rotate");
  CSG_CHECK(std::isfinite(degrees), "rotate: angle must be finite, got ", degrees);
  const double angle = python_mod(degrees, 360.0);
  if (angle == 0.0) return im;
  if (angle == 180.0) return rotate180(im);
  const double cx = im.width / 2.0, cy = im.height / 2.0;
  const double r = -(angle * (M_PI / 180.0));  // -math.radians(angle)
  std::array<double, 6> m = {python_round15(std::cos(r)), python_round15(std::sin(r)), 0.0,
                             python_round15(-std::sin(r)), python_round15(std::cos(r)), 0.0};
  // matrix[2], matrix[5] = transform(-cx, -cy, matrix); then += centre (Image.rotate).
  const double tx = m[0] * -cx + m[1] * -cy + m[2];
  const double ty = m[3] * -cx + m[4] * -cy + m[5];
  m[2] = tx + cx;
  m[5] = ty + cy;
  return affine_nearest(im, m);
}

Image shear_x(const Image& im, double s) { return affine_nearest(im, {1.0, s, 0.0, 0.0, 1.0, 0.0}); }
Image shear_y(const Image& im, double s) { return affine_nearest(im, {1.0, 0.0, 0.0, s, 1.0, 0.0}); }
Image translate_x(const Image& im, double t) { return affine_nearest(im, {1.0, 0.0, t, 0.0, 1.0, 0.0}); }
Image translate_y(const Image& im, double t) { return affine_nearest(im, {1.0, 0.0, 0.0, 0.0, 1.0, t}); }

Image hflip(const Image& im) {
  check_image(im, "hflip");
  Image out = blank_like(im);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) copy_px(out, x, y, im, im.width - 1 - x, y);
  return out;
}

LabelMap hflip(const LabelMap& labels) {
  LabelMap out = labels;
  for (int y = 0; y < labels.height; ++y)
    for (int x = 0; x < labels.width; ++x) out.at(x, y) = labels.at(labels.width - 1 - x, y);
  return out;
}

// ---- torchvision colour ---------------------------------------------------------------------------

Image adjust_hue(const Image& im, double hue) {
  check_image(im, "adjust_hue");
  CSG_CHECK(hue >= -0.5 && hue <= 0.5, "adjust_hue: hue factor must be in [-0.5, 0.5], got ", hue);
  // np.uint8(hue * 255): truncation toward zero, then modulo 256.
  const uint8_t shift = static_cast<uint8_t>(static_cast<int>(hue * 255.0));
  const HsvTables& tables = hsv_tables();
  Image out = blank_like(im);
  const int64_t n = static_cast<int64_t>(im.width) * im.height;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t hsv[3];
    rgb_to_hsv(tables, &im.rgb[i * 3], hsv);
    hsv[0] = static_cast<uint8_t>(hsv[0] + shift);  // uint8 addition wraps around the hue circle
    hsv_to_rgb(tables, hsv, &out.rgb[i * 3]);
  }
  return out;
}

JitterParams draw_jitter(const ColorJitter& cj, Generator& gen) {
  CSG_CHECK(cj.brightness >= 0 && cj.contrast >= 0 && cj.saturation >= 0 && cj.hue >= 0 && cj.hue <= 0.5,
            "ColorJitter: brightness/contrast/saturation must be >= 0 and hue in [0, 0.5], got ", cj.brightness, ", ",
            cj.contrast, ", ", cj.saturation, ", ", cj.hue);
  JitterParams p;
  for (int i = 3; i > 0; --i) std::swap(p.order[i], p.order[randint(gen, 0, i)]);  // Fisher-Yates
  const double spread[3] = {cj.brightness, cj.contrast, cj.saturation};
  double* factor[3] = {&p.brightness, &p.contrast, &p.saturation};
  for (int k = 0; k < 3; ++k) {
    p.use[k] = spread[k] > 0;
    if (p.use[k]) *factor[k] = uniform(gen, std::max(0.0, 1.0 - spread[k]), 1.0 + spread[k]);
  }
  p.use[3] = cj.hue > 0;
  if (p.use[3]) p.hue = uniform(gen, -cj.hue, cj.hue);
  return p;
}

namespace {
// One ColorJitter op; contrast blends from `mean_grey` when it is >= 0, else from im's own mean.
Image jitter_op(const Image& im, const JitterParams& p, int op, int mean_grey = -1) {
  switch (op) {
    case 0: return enhance_brightness(im, p.brightness);
    case 1: return mean_grey >= 0 ? blend_from_constant(im, mean_grey, p.contrast) : enhance_contrast(im, p.contrast);
    case 2: return enhance_color(im, p.saturation);
    default: return adjust_hue(im, p.hue);
  }
}
}  // namespace

Image color_jitter(const Image& im, const JitterParams& p) {
  Image out = im;
  for (int op : p.order)
    if (p.use[op]) out = jitter_op(out, p, op);
  return out;
}

Image color_jitter_window(const Image& im, const JitterParams& p, int x, int y, int w, int h) {
  check_image(im, "color_jitter_window");
  CSG_CHECK(x >= 0 && y >= 0 && x < im.width && y < im.height && w > 0 && h > 0, "color_jitter_window: window (",
            x, ", ", y, ") ", w, "x", h, " does not start inside the ", im.width, "x", im.height, " image");
  w = std::min(w, im.width - x);
  h = std::min(h, im.height - y);
  // Ops before contrast run on the whole image (contrast needs its mean grey level); the rest
  // only on the window. Brightness, saturation and hue are per pixel, so this is exact.
  int contrast_at = -1;
  for (int k = 0; k < 4; ++k)
    if (p.order[k] == 1 && p.use[1]) contrast_at = k;
  int k = 0, mean_grey = -1;
  const Image* whole = &im;
  Image jittered;
  if (contrast_at >= 0) {
    for (; k < contrast_at; ++k)
      if (p.use[p.order[k]]) {
        jittered = jitter_op(*whole, p, p.order[k]);
        whole = &jittered;
      }
    mean_grey = mean_grey_level(*whole);
  }
  Image window = image::crop(*whole, x, y, w, h);
  for (; k < 4; ++k)
    if (p.use[p.order[k]]) window = jitter_op(window, p, p.order[k], mean_grey);
  return window;
}

// ---- OpenCV resize ----------------------------------------------------------------------------------

namespace {
constexpr int kCoefBits = 11, kCoefScale = 1 << kCoefBits;  // INTER_RESIZE_COEF_BITS / _SCALE

// saturate_cast<short>(float): round half to even.
inline int16_t round_coef(float v) { return static_cast<int16_t>(std::lrint(static_cast<double>(v))); }
}  // namespace

Image resize_linear_cv(const Image& im, int out_w, int out_h) {
  check_image(im, "resize_linear_cv");
  CSG_CHECK(out_w > 0 && out_h > 0, "resize_linear_cv: bad output size ", out_w, "x", out_h);
  if (out_w == im.width && out_h == im.height) return im;  // cv2.resize copies
  const int sw = im.width, sh = im.height;
  const double scale_x = 1.0 / (static_cast<double>(out_w) / sw);
  const double scale_y = 1.0 / (static_cast<double>(out_h) / sh);
  // Horizontal taps: edge positions collapse onto the first / last pixel with weight 1.
  std::vector<int> xofs(out_w);
  std::vector<int16_t> alpha(out_w * 2);
  for (int dx = 0; dx < out_w; ++dx) {
    float fx = static_cast<float>((dx + 0.5) * scale_x - 0.5);
    int sx = static_cast<int>(std::floor(fx));
    fx -= static_cast<float>(sx);
    if (sx < 0) fx = 0, sx = 0;
    if (sx >= sw - 1) fx = 0, sx = sw - 1;
    xofs[dx] = sx;
    alpha[dx * 2] = round_coef((1.f - fx) * kCoefScale);
    alpha[dx * 2 + 1] = round_coef(fx * kCoefScale);
  }
  // Vertical taps: the weights are not reset at the edges; the rows are clamped instead.
  std::vector<int> y0(out_h), y1(out_h);
  std::vector<int16_t> beta(out_h * 2);
  for (int dy = 0; dy < out_h; ++dy) {
    float fy = static_cast<float>((dy + 0.5) * scale_y - 0.5);
    const int sy = static_cast<int>(std::floor(fy));
    fy -= static_cast<float>(sy);
    y0[dy] = std::clamp(sy, 0, sh - 1);
    y1[dy] = std::clamp(sy + 1, 0, sh - 1);
    beta[dy * 2] = round_coef((1.f - fy) * kCoefScale);
    beta[dy * 2 + 1] = round_coef(fy * kCoefScale);
  }
  std::vector<int> xofs1(out_w);  // second tap (weight 0 where the first is the last pixel)
  for (int dx = 0; dx < out_w; ++dx) xofs1[dx] = std::min(xofs[dx] + 1, sw - 1);
  // Horizontal pass of one source row: int sums in 8.11 fixed point.
  auto hresize = [&](int y, int32_t* dst) {
    const uint8_t* src = im.at(0, y);
    for (int dx = 0; dx < out_w; ++dx) {
      const uint8_t* s0 = src + xofs[dx] * 3;
      const uint8_t* s1 = src + xofs1[dx] * 3;
      const int a0 = alpha[dx * 2], a1 = alpha[dx * 2 + 1];
      dst[dx * 3] = s0[0] * a0 + s1[0] * a1;
      dst[dx * 3 + 1] = s0[1] * a0 + s1[1] * a1;
      dst[dx * 3 + 2] = s0[2] * a0 + s1[2] * a1;
    }
  };
  Image out;
  out.width = out_w;
  out.height = out_h;
  out.rgb.resize(static_cast<size_t>(out_w) * out_h * 3);
  // Output rows in order, keeping the two horizontally resized source rows the previous output
  // row used (consecutive output rows mostly share them). No OpenMP here: the data loader runs
  // one sample per worker thread, so the parallelism is across samples.
  const int row_len = out_w * 3;
  std::vector<int32_t> buf0(row_len), buf1(row_len);
  int have0 = -1, have1 = -1;
  for (int dy = 0; dy < out_h; ++dy) {
    const int want0 = y0[dy], want1 = y1[dy];
    if (have0 != want0) {
      if (have1 == want0) {
        std::swap(buf0, buf1);
        std::swap(have0, have1);
      } else {
        hresize(want0, buf0.data());
        have0 = want0;
      }
    }
    if (want1 != want0 && have1 != want1) {
      hresize(want1, buf1.data());
      have1 = want1;
    }
    // The vertical sum fits in int32: the weights sum to about 2048, the row values are <= 255 * 2048.
    const int32_t* r0 = buf0.data();
    const int32_t* r1 = want1 == want0 ? buf0.data() : buf1.data();
    const int32_t b0 = beta[dy * 2], b1 = beta[dy * 2 + 1];
    uint8_t* dst = out.at(0, dy);
    for (int i = 0; i < row_len; ++i) {
      const int32_t v = (r0[i] * b0 + r1[i] * b1 + (1 << 21)) >> 22;
      dst[i] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
  }
  return out;
}

LabelMap resize_nearest_cv(const LabelMap& labels, int out_w, int out_h) {
  CSG_CHECK(labels.width > 0 && labels.height > 0 &&
                labels.values.size() == static_cast<size_t>(labels.width) * labels.height,
            "resize_nearest_cv: bad label map ", labels.width, "x", labels.height);
  CSG_CHECK(out_w > 0 && out_h > 0, "resize_nearest_cv: bad output size ", out_w, "x", out_h);
  const double ifx = 1.0 / (static_cast<double>(out_w) / labels.width);
  const double ify = 1.0 / (static_cast<double>(out_h) / labels.height);
  std::vector<int> xs(out_w);
  for (int x = 0; x < out_w; ++x) xs[x] = std::min(static_cast<int>(std::floor(x * ifx)), labels.width - 1);
  LabelMap out;
  out.width = out_w;
  out.height = out_h;
  out.values.resize(static_cast<size_t>(out_w) * out_h);
  for (int y = 0; y < out_h; ++y) {
    const int sy = std::min(static_cast<int>(std::floor(y * ify)), labels.height - 1);
    for (int x = 0; x < out_w; ++x) out.at(x, y) = labels.at(xs[x], sy);
  }
  return out;
}

}  // namespace csg::augment
