// src/digits/digit_renderer.cpp — synthetic digits rendered from TrueType fonts (stb_truetype).
//
// A glyph is rasterised at 4x the output resolution into a coverage mask, its stroke is
// thickened or thinned there (max / min filter), and the mask is mapped into the output by a
// random similarity + shear transform with 4x4 supersampling. Colours, a background gradient,
// blur and Gaussian noise follow. Every random choice of sample (seed, index, digit) is a
// counter_uniform draw of one per-sample key, so a sample never depends on any other.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "csg/digits/data.h"
#include "csg/random.h"

#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC  // private to this file: no clash with another copy of stb_truetype
#include <stb/stb_truetype.h>

namespace fs = std::filesystem;

namespace csg::data {

namespace {

constexpr int kOversample = 4;  // hi-res mask pixels per output pixel
constexpr int kSubsamples = 4;  // per output pixel and axis when resampling the mask
constexpr float kPi = 3.14159265358979f;

// Counter slots of a sample's draws (named so that adding a draw does not shift the others).
enum Slot : uint64_t {
  kFont, kHeight, kStroke, kAngle, kShear, kAspect, kShiftX, kShiftY, kGrey,
  kBackground = 10,  // 3 slots
  kForeground = 16,  // 3 slots per attempt, kContrastAttempts attempts
  kGradientAmp = 60, kGradientDir, kBlur, kNoiseSigma,
  kNoise = 1000,  // 2 per pixel channel
};
constexpr int kContrastAttempts = 8;

float luma(const float* c) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

// Max (dilate) or min (erode) over a (2r+1) square window, separable; outside counts as 0.
std::vector<float> morph(const std::vector<float>& m, int w, int h, int r, bool dilate) {
  auto pick = [dilate](float a, float b) { return dilate ? std::max(a, b) : std::min(a, b); };
  std::vector<float> tmp(m.size()), out(m.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = m[y * w + x];
      for (int d = -r; d <= r; ++d) {
        const int xx = x + d;
        v = pick(v, (xx < 0 || xx >= w) ? 0.f : m[y * w + xx]);
      }
      tmp[y * w + x] = v;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = tmp[y * w + x];
      for (int d = -r; d <= r; ++d) {
        const int yy = y + d;
        v = pick(v, (yy < 0 || yy >= h) ? 0.f : tmp[yy * w + x]);
      }
      out[y * w + x] = v;
    }
  return out;
}

float bilinear(const std::vector<float>& m, int w, int h, float x, float y) {
  // Pixel centres at integer + 0.5.
  x -= 0.5f;
  y -= 0.5f;
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const float fx = x - x0, fy = y - y0;
  auto at = [&](int xx, int yy) { return (xx < 0 || yy < 0 || xx >= w || yy >= h) ? 0.f : m[yy * w + xx]; };
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
         fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

void blur3(std::vector<float>& img, int s, int channels) {
  std::vector<float> tmp(img.size());
  auto idx = [&](int x, int y, int c) { return (static_cast<size_t>(y) * s + x) * channels + c; };
  auto cl = [s](int v) { return std::clamp(v, 0, s - 1); };
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x)
      for (int c = 0; c < channels; ++c)
        tmp[idx(x, y, c)] = 0.25f * img[idx(cl(x - 1), y, c)] + 0.5f * img[idx(x, y, c)] + 0.25f * img[idx(cl(x + 1), y, c)];
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x)
      for (int c = 0; c < channels; ++c)
        img[idx(x, y, c)] = 0.25f * tmp[idx(x, cl(y - 1), c)] + 0.5f * tmp[idx(x, y, c)] + 0.25f * tmp[idx(x, cl(y + 1), c)];
}

float lerp(float a, float b, float t) { return a + (b - a) * t; }

// A glyph's coverage at kOversample x the output resolution, padded for the stroke filter.
struct GlyphMask {
  std::vector<float> mask;
  int w = 0, h = 0;
};

// 1. Glyph coverage at kOversample x the output resolution; 2. stroke weight: thicken, or thin
// unless that would erase most of the glyph (light fonts).
GlyphMask glyph_mask(const stbtt_fontinfo& info, int glyph, int glyph_height, const std::string& font_path, int digit,
                     const DigitRenderOptions& o, uint64_t key) {
  auto u = [key](uint64_t slot) { return counter_uniform(key, slot); };
  const float height = lerp(o.min_height, o.max_height, u(kHeight)) * o.size;
  const float scale = kOversample * height / glyph_height;
  int bw = 0, bh = 0, xoff = 0, yoff = 0;
  unsigned char* bitmap = stbtt_GetGlyphBitmap(&info, scale, scale, glyph, &bw, &bh, &xoff, &yoff);
  CSG_CHECK(bitmap != nullptr && bw > 0 && bh > 0, font_path, ": stb_truetype could not rasterise digit ", digit);
  const int r = static_cast<int>(std::lround(lerp(o.min_stroke, o.max_stroke, u(kStroke)) * kOversample));
  const int pad = std::max(r, 0) + 2;
  GlyphMask g;
  g.w = bw + 2 * pad, g.h = bh + 2 * pad;
  g.mask.assign(static_cast<size_t>(g.w) * g.h, 0.f);
  double ink = 0;
  for (int y = 0; y < bh; ++y)
    for (int x = 0; x < bw; ++x) {
      g.mask[(y + pad) * g.w + x + pad] = bitmap[y * bw + x] / 255.f;
      ink += bitmap[y * bw + x];
    }
  stbtt_FreeBitmap(bitmap, nullptr);
  if (r > 0) {
    g.mask = morph(g.mask, g.w, g.h, r, true);
  } else if (r < 0) {
    std::vector<float> thin = morph(g.mask, g.w, g.h, -r, false);
    double left = 0;
    for (float v : thin) left += v * 255.0;
    if (left >= 0.4 * ink) g.mask.swap(thin);
  }
  return g;
}

// 3. Geometry: forward map q = c + k * R(angle) * [[aspect, shear], [0, 1]] * p, with p in
// output pixels relative to the glyph centre; k shrinks glyphs that would not fit. Returns the
// output's coverage in [0, 1], supersampled.
std::vector<float> place_glyph(const GlyphMask& g, const DigitRenderOptions& o, uint64_t key) {
  auto u = [key](uint64_t slot) { return counter_uniform(key, slot); };
  const int S = o.size;
  const float angle = (2 * u(kAngle) - 1) * o.max_rotation_deg * kPi / 180.f;
  const float shear = (2 * u(kShear) - 1) * o.max_shear;
  const float aspect = lerp(0.8f, 1.2f, u(kAspect));
  const float ca = std::cos(angle), sa = std::sin(angle);
  // M = R * A
  const float m00 = ca * aspect, m01 = ca * shear - sa, m10 = sa * aspect, m11 = sa * shear + ca;
  const float hw = g.w / (2.f * kOversample), hh = g.h / (2.f * kOversample);
  const float ext_x = 2 * (std::abs(m00) * hw + std::abs(m01) * hh);
  const float ext_y = 2 * (std::abs(m10) * hw + std::abs(m11) * hh);
  const float k = std::min(1.f, 0.98f * S / std::max(ext_x, ext_y));
  const float cx = S / 2.f + (2 * u(kShiftX) - 1) * std::max(0.f, (S - k * ext_x) / 2);
  const float cy = S / 2.f + (2 * u(kShiftY) - 1) * std::max(0.f, (S - k * ext_y) / 2);
  const float det = m00 * m11 - m01 * m10;
  const float i00 = m11 / (det * k), i01 = -m01 / (det * k), i10 = -m10 / (det * k), i11 = m00 / (det * k);
  std::vector<float> cov(static_cast<size_t>(S) * S);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      float acc = 0;
      for (int sy = 0; sy < kSubsamples; ++sy)
        for (int sx = 0; sx < kSubsamples; ++sx) {
          const float qx = x + (sx + 0.5f) / kSubsamples - cx, qy = y + (sy + 0.5f) / kSubsamples - cy;
          const float px = i00 * qx + i01 * qy, py = i10 * qx + i11 * qy;
          acc += bilinear(g.mask, g.w, g.h, px * kOversample + g.w / 2.f, py * kOversample + g.h / 2.f);
        }
      cov[y * S + x] = std::clamp(acc / (kSubsamples * kSubsamples), 0.f, 1.f);
    }
  return cov;
}

// 4. Colours: grey levels or RGB, with a minimum luma contrast between ink and background, over a
// background gradient. Returns the float RGB image.
std::vector<float> colourise(const std::vector<float>& cov, const DigitRenderOptions& o, uint64_t key, bool grey) {
  auto u = [key](uint64_t slot) { return counter_uniform(key, slot); };
  const int S = o.size;
  auto colour = [&](uint64_t slot, float* c) {
    for (int i = 0; i < 3; ++i) c[i] = 255.f * u(slot + (grey ? 0 : i));
  };
  float bg[3], fg[3];
  colour(kBackground, bg);
  bool contrasted = false;
  for (int a = 0; a < kContrastAttempts && !contrasted; ++a) {
    colour(kForeground + 3 * a, fg);
    contrasted = std::abs(luma(fg) - luma(bg)) >= o.min_contrast;
  }
  if (!contrasted)  // keep the hue, push the ink towards the far end of the luma range
    for (float& c : fg) c = luma(bg) > 127.5f ? 0.25f * c : 255.f - 0.25f * (255.f - c);

  const float amp = 40.f * u(kGradientAmp), dir = 2 * kPi * u(kGradientDir);
  std::vector<float> img(static_cast<size_t>(S) * S * 3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const float gr = amp * ((x + 0.5f - S / 2.f) * std::cos(dir) + (y + 0.5f - S / 2.f) * std::sin(dir)) / S;
      const float c = cov[y * S + x];
      for (int ch = 0; ch < 3; ++ch) img[(y * S + x) * 3 + ch] = (bg[ch] + gr) * (1 - c) + fg[ch] * c;
    }
  return img;
}

// 5. Blur and sensor-like noise (the same noise on all channels of a grey image), as 8-bit RGB.
image::Image blur_and_noise(std::vector<float> img, const DigitRenderOptions& o, uint64_t key, bool grey) {
  const int S = o.size;
  if (counter_uniform(key, kBlur) < o.blur_probability) blur3(img, S, 3);
  const float sigma = o.max_noise_sigma * counter_uniform(key, kNoiseSigma);
  image::Image out;
  out.width = out.height = S;
  out.rgb.resize(img.size());
  for (size_t i = 0; i < img.size(); ++i) {
    const uint64_t n = grey ? i / 3 : i;
    const float u1 = 1.f - counter_uniform(key, kNoise + 2 * n), u2 = counter_uniform(key, kNoise + 2 * n + 1);
    const float z = std::sqrt(-2.f * std::log(u1)) * std::cos(2 * kPi * u2);
    out.rgb[i] = static_cast<uint8_t>(std::clamp(std::lround(img[i] + sigma * z), 0L, 255L));
  }
  return out;
}

}  // namespace

struct DigitRenderer::Impl {
  struct Font {
    std::string path;
    std::vector<uint8_t> data;
    stbtt_fontinfo info{};
    std::array<int, 10> glyph{};
    std::array<int, 10> glyph_height{};  // font units
  };
  std::vector<std::unique_ptr<Font>> fonts;  // stable addresses: stbtt_fontinfo points into data
  std::vector<std::string> font_paths, skipped;
  DigitRenderOptions options;
};

std::vector<std::string> digit_font_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CSG_DIGIT_FONTS"); env && *env) {
    std::string s = env;
    for (size_t start = 0; start <= s.size();) {
      const size_t end = std::min(s.find(':', start), s.size());
      if (end > start) dirs.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  } else {
    dirs.push_back("/usr/share/fonts/truetype");
  }
  return dirs;
}

std::vector<std::string> find_digit_fonts(const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  for (const std::string& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(d, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::string ext = it->path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (ext == ".ttf" && it->is_regular_file(ec)) files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

DigitRenderer::DigitRenderer(const std::vector<std::string>& font_files, DigitRenderOptions options)
    : impl_(std::make_unique<Impl>()) {
  const DigitRenderOptions& o = options;
  CSG_CHECK(o.size >= 8 && o.size <= 1024, "DigitRenderer: size must be in [8, 1024], got ", o.size);
  CSG_CHECK(o.min_height > 0 && o.min_height <= o.max_height && o.max_height <= 1.5f,
            "DigitRenderer: need 0 < min_height <= max_height <= 1.5, got ", o.min_height, ", ", o.max_height);
  CSG_CHECK(o.min_stroke <= o.max_stroke, "DigitRenderer: min_stroke ", o.min_stroke, " > max_stroke ", o.max_stroke);
  impl_->options = options;
  for (const std::string& path : font_files) {
    auto font = std::make_unique<Impl::Font>();
    font->path = path;
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      impl_->skipped.push_back(path + " (cannot open)");
      continue;
    }
    font->data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    const int offset = font->data.empty() ? -1 : stbtt_GetFontOffsetForIndex(font->data.data(), 0);
    if (offset < 0 || !stbtt_InitFont(&font->info, font->data.data(), offset)) {
      impl_->skipped.push_back(path + " (not a TrueType font stb_truetype can parse)");
      continue;
    }
    bool ok = true;
    for (int d = 0; d < 10 && ok; ++d) {
      font->glyph[d] = stbtt_FindGlyphIndex(&font->info, '0' + d);
      int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
      ok = font->glyph[d] != 0 && stbtt_GetGlyphBox(&font->info, font->glyph[d], &x0, &y0, &x1, &y1) && y1 > y0 &&
           x1 > x0;
      font->glyph_height[d] = y1 - y0;
    }
    if (!ok) {
      impl_->skipped.push_back(path + " (no outline for every digit 0-9)");
      continue;
    }
    impl_->font_paths.push_back(path);
    impl_->fonts.push_back(std::move(font));
  }
  if (impl_->fonts.empty()) {
    std::string tried;
    for (const std::string& s : impl_->skipped) tried += "\n  " + s;
    CSG_FAIL("DigitRenderer: no usable TrueType font with the digits 0-9 (", font_files.size(), " file(s) tried",
             font_files.empty() ? "; none found under /usr/share/fonts/truetype or $CSG_DIGIT_FONTS" : "", ")", tried,
             "\ninstall one with `apt-get install fonts-dejavu-core`, or set CSG_DIGIT_FONTS to directories of .ttf files");
  }
}

DigitRenderer::~DigitRenderer() = default;

const std::vector<std::string>& DigitRenderer::fonts() const { return impl_->font_paths; }
const std::vector<std::string>& DigitRenderer::skipped() const { return impl_->skipped; }
const DigitRenderOptions& DigitRenderer::options() const { return impl_->options; }

RenderedDigit DigitRenderer::render(int digit, uint64_t seed, uint64_t index) const {
  CSG_CHECK(digit >= 0 && digit <= 9, "DigitRenderer::render: digit must be 0..9, got ", digit);
  const DigitRenderOptions& o = impl_->options;
  const uint64_t key = mix64(seed ^ mix64(index * 10 + static_cast<uint64_t>(digit) + 0x5eed0d191700ULL));
  RenderedDigit out;
  out.font = std::min(static_cast<int>(counter_uniform(key, kFont) * impl_->fonts.size()),
                      static_cast<int>(impl_->fonts.size()) - 1);
  const Impl::Font& font = *impl_->fonts[out.font];
  const GlyphMask mask = glyph_mask(font.info, font.glyph[digit], font.glyph_height[digit], font.path, digit, o, key);
  const std::vector<float> cov = place_glyph(mask, o, key);
  out.coverage.resize(cov.size());
  for (size_t i = 0; i < cov.size(); ++i) out.coverage[i] = static_cast<uint8_t>(std::lround(cov[i] * 255));
  const bool grey = counter_uniform(key, kGrey) < o.grey_probability;
  out.image = blur_and_noise(colourise(cov, o, key, grey), o, key, grey);
  return out;
}

}  // namespace csg::data
