// src/data/resize.cpp — PIL's bilinear resize (Pillow, libImaging/Resample.c), bit for bit.
//
// Each output pixel is a weighted sum of the input pixels under a triangle filter centred on
// the pixel's position in the input; when shrinking, the filter is widened by the scale, which
// is PIL's antialiasing (torchvision's Resize on PIL images relies on it). Weights are turned
// into 22-bit fixed point and the horizontal pass is rounded to 8 bits before the vertical
// pass, exactly as Pillow does, so results match PIL to the byte.
#include <algorithm>
#include <cmath>

#include "csg/image.h"

namespace csg::image {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output pixel: first input index, count
  std::vector<int> k;       // per output pixel: ksize fixed-point weights
};

Coeffs precompute(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(out_size * 2);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      double v = ww != 0.0 ? w[x] / ww : w[x];
      c.k[xx * c.ksize + x] = static_cast<int>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

Image resize_bilinear(const Image& im, int out_w, int out_h) {
  CSG_CHECK(out_w > 0 && out_h > 0 && im.width > 0 && im.height > 0, "resize_bilinear: cannot resize ", im.width,
            "x", im.height, " to ", out_w, "x", out_h);
  Image src = im;
  if (out_w != im.width) {  // horizontal pass over the rows the vertical pass will read
    Coeffs c = precompute(im.width, out_w);
    Image tmp;
    tmp.width = out_w;
    tmp.height = im.height;
    tmp.rgb.resize(static_cast<size_t>(out_w) * im.height * 3);
#pragma omp parallel for if (im.height > 64)
    for (int y = 0; y < im.height; ++y)
      for (int xx = 0; xx < out_w; ++xx) {
        const int xmin = c.bounds[xx * 2], n = c.bounds[xx * 2 + 1];
        const int* k = &c.k[static_cast<size_t>(xx) * c.ksize];
        for (int ch = 0; ch < 3; ++ch) {
          int acc = 1 << (kPrecisionBits - 1);
          for (int x = 0; x < n; ++x) acc += im.at(xmin + x, y)[ch] * k[x];
          tmp.at(xx, y)[ch] = clip8(acc);
        }
      }
    src = std::move(tmp);
  }
  if (out_h == src.height) return src;
  Coeffs c = precompute(src.height, out_h);
  Image out;
  out.width = src.width;
  out.height = out_h;
  out.rgb.resize(static_cast<size_t>(src.width) * out_h * 3);
#pragma omp parallel for if (out_h > 64)
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.bounds[yy * 2], n = c.bounds[yy * 2 + 1];
    const int* k = &c.k[static_cast<size_t>(yy) * c.ksize];
    for (int x = 0; x < src.width; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        int acc = 1 << (kPrecisionBits - 1);
        for (int y = 0; y < n; ++y) acc += src.at(x, ymin + y)[ch] * k[y];
        out.at(x, yy)[ch] = clip8(acc);
      }
  }
  return out;
}

}  // namespace csg::image
