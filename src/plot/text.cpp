// src/plot/text.cpp — text from stb_easy_font's quads, rasterised by area coverage.
#include <algorithm>
#include <cmath>
#include <vector>

#include "csg/plot.h"

#include <stb/stb_easy_font.h>

namespace csg::plot {

namespace {

constexpr double kLineAdvance = 12;  // stb_easy_font's line height, font units
constexpr double kGlyphExtent = 9;   // capitals span [0, 7], descenders reach 9

// stb_easy_font indexes its tables by (char - 32): anything outside printable ASCII (and tabs)
// would read out of bounds, so it becomes '?'.
std::string printable(const std::string& text) {
  std::string s = text;
  for (char& ch : s)
    if (ch != '\n' && (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126)) ch = '?';
  return s;
}

int line_count(const std::string& s) { return 1 + static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct Quad {
  double x0, y0, x1, y1;
};

std::vector<Quad> glyph_quads(const std::string& s) {
  std::vector<char> text(s.begin(), s.end());
  text.push_back('\0');
  // ~270 bytes per character on average (stb's estimate); one quad is 64 bytes.
  std::vector<char> buf(std::max<size_t>(1024, s.size() * 640));
  const int n = stb_easy_font_print(0, 0, text.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
  std::vector<Quad> quads;
  quads.reserve(n);
  for (int q = 0; q < n; ++q) {
    const float* v = reinterpret_cast<const float*>(buf.data() + static_cast<size_t>(q) * 64);
    // Vertices 0 and 2 are opposite corners (x, y, z, colour per 16 bytes).
    quads.push_back({v[0], v[1], v[8], v[9]});
  }
  return quads;
}

}  // namespace

double text_width(const std::string& text, double scale) {
  std::string s = printable(text);
  std::vector<char> c(s.begin(), s.end());
  c.push_back('\0');
  return scale * stb_easy_font_width(c.data());
}

double text_height(const std::string& text, double scale) {
  return scale * (kLineAdvance * (line_count(text) - 1) + kGlyphExtent);
}

void draw_text(Canvas& canvas, double x, double y, const std::string& text, const TextStyle& st) {
  if (text.empty()) return;
  const std::string s = printable(text);
  const double tw = text_width(s, st.scale), th = text_height(s, st.scale);
  const double bw = st.vertical ? th : tw, bh = st.vertical ? tw : th;  // the box on the canvas
  double left = x, top = y;
  if (st.halign == HAlign::Center) left -= bw / 2;
  if (st.halign == HAlign::Right) left -= bw;
  if (st.valign == VAlign::Middle) top -= bh / 2;
  if (st.valign == VAlign::Bottom) top -= bh;

  // Coverage mask over the box (one pixel of slack each side for partial pixels).
  const int mx0 = static_cast<int>(std::floor(left)) - 1, my0 = static_cast<int>(std::floor(top)) - 1;
  const int mw = static_cast<int>(std::ceil(bw)) + 3, mh = static_cast<int>(std::ceil(bh)) + 3;
  std::vector<float> cover(static_cast<size_t>(mw) * mh, 0.0f);
  for (const Quad& q : glyph_quads(s)) {
    // Text coordinates (u along the text, v down the lines) to canvas coordinates; vertical
    // text turns 90 degrees counter-clockwise: u runs up the canvas, v to the right.
    double x0, y0, x1, y1;
    if (!st.vertical) {
      x0 = left + st.scale * q.x0, x1 = left + st.scale * q.x1;
      y0 = top + st.scale * q.y0, y1 = top + st.scale * q.y1;
    } else {
      x0 = left + st.scale * q.y0, x1 = left + st.scale * q.y1;
      y0 = top + bh - st.scale * q.x1, y1 = top + bh - st.scale * q.x0;
    }
    for (int j = std::max(0, static_cast<int>(std::floor(y0)) - my0);
         j < std::min(mh, static_cast<int>(std::ceil(y1)) - my0); ++j) {
      const double py = my0 + j;
      const double cy = std::max(0.0, std::min(y1, py + 1) - std::max(y0, py));
      for (int i = std::max(0, static_cast<int>(std::floor(x0)) - mx0);
           i < std::min(mw, static_cast<int>(std::ceil(x1)) - mx0); ++i) {
        const double px = mx0 + i;
        const double cx = std::max(0.0, std::min(x1, px + 1) - std::max(x0, px));
        cover[static_cast<size_t>(j) * mw + i] += static_cast<float>(cx * cy);
      }
    }
  }
  for (int j = 0; j < mh; ++j)
    for (int i = 0; i < mw; ++i) {
      const float c = cover[static_cast<size_t>(j) * mw + i];
      if (c > 0) canvas.blend(mx0 + i, my0 + j, st.color, std::min(1.0f, c));  // touching quads overlap
    }
}

}  // namespace csg::plot
