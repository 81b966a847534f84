// csg/plot.h — a small raster plotting library for the figures training writes: an RGB canvas
// with antialiased primitives, text from stb_easy_font's built-in vector font (no font files),
// a line chart with axes, ticks and a legend, colormaps, and PNG output.
//
// Coordinates are in pixels, x to the right and y DOWN, with pixel (i, j) covering the square
// [i, i+1) x [j, j+1); shapes are antialiased by the area (or distance) they cover per pixel.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/image.h"

namespace csg::plot {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Color& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Color& o) const { return !(*this == o); }
};
constexpr Color kWhite{255, 255, 255};
constexpr Color kBlack{0, 0, 0};
constexpr Color kGrey{128, 128, 128};
constexpr Color kLightGrey{225, 225, 225};
// Distinguishable line colours (matplotlib's "tab10": blue, orange, green, red, purple, ...).
Color category_color(int i);

// ---- canvas (src/plot/canvas.cpp) ---------------------------------------------------------
class Canvas {
 public:
  Canvas(int width, int height, Color background = kWhite);
  int width() const { return im_.width; }
  int height() const { return im_.height; }
  Color pixel(int x, int y) const;  // must lie inside
  void set(int x, int y, Color c);  // ignored outside the canvas
  // Mixes c into pixel (x, y) with weight alpha in [0, 1]; ignored outside the canvas.
  void blend(int x, int y, Color c, double alpha);

  // The rectangle [x0, x1) x [y0, y1), partially covered edge pixels blended by coverage.
  void fill_rect(double x0, double y0, double x1, double y1, Color c, double alpha = 1.0);
  // A segment of the given thickness (pixels) with round caps, antialiased.
  void line(double x0, double y0, double x1, double y1, Color c, double thickness = 1.0);
  // A connected path of segments (joints without seams).
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Color c, double thickness = 1.0);
  void circle(double cx, double cy, double radius, Color c, double thickness = 1.0, double alpha = 1.0);  // outline
  void disc(double cx, double cy, double radius, Color c, double alpha = 1.0);         // filled
  // Copies `other` with its top-left corner at (x, y) (clipped).
  void paste(const Canvas& other, int x, int y);

  const image::Image& image() const { return im_; }

 private:
  // Blends c with coverage max over the segments near each pixel, in the box [x0,x1)x[y0,y1).
  void stroke_segments(const std::vector<double>& xs, const std::vector<double>& ys, Color c, double thickness);
  image::Image im_;
};

// Writes the canvas as an 8-bit RGB PNG; throws csg::Error naming the path on failure.
void write_png(const Canvas& canvas, const std::string& path);

// ---- text (src/plot/text.cpp) -------------------------------------------------------------
// stb_easy_font's glyphs are built from axis-aligned quads on a unit grid, about 7 units tall
// (caps) on a 12-unit line; `scale` multiplies that (scale 2: 14-pixel capitals). The quads
// are rasterised by area coverage, so any scale is antialiased. ASCII only.
enum class HAlign { Left, Center, Right };
enum class VAlign { Top, Middle, Bottom };
struct TextStyle {
  double scale = 2.0;
  Color color = kBlack;
  HAlign halign = HAlign::Left;
  VAlign valign = VAlign::Top;
  bool vertical = false;  // rotated 90 degrees counter-clockwise (reads bottom to top)
};
// Size in pixels of the text's box before rotation (width along the text, height across).
double text_width(const std::string& text, double scale);
double text_height(const std::string& text, double scale);
// Draws `text` with its box anchored at (x, y) as the alignment says (for vertical text the
// alignments refer to the rotated box on the canvas).
void draw_text(Canvas& canvas, double x, double y, const std::string& text, const TextStyle& style = {});

// ---- colormaps (src/plot/colormap.cpp) ----------------------------------------------------
// matplotlib's viridis (perceptually uniform, dark blue -> yellow), t clamped to [0, 1].
Color viridis(double t);
// Draws a vertical colour bar for values [lo, hi] in the box, with ticks and a label.
void colorbar(Canvas& canvas, int x, int y, int w, int h, double lo, double hi, const std::string& label,
              Color (*cmap)(double) = viridis);

// ---- line chart (src/plot/chart.cpp) ------------------------------------------------------
struct Series {
  std::string label;  // series sharing a label share one legend entry; empty: no entry
  std::vector<double> x, y;
  Color color = kBlack;
  double thickness = 2.0;
};
struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
};
struct ChartOptions {
  std::string title, x_label, y_label;
  double text_scale = 2.0;
  bool legend = true;
};
// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi], about
// `target` of them; every tick lies inside [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Tick labels with just enough decimals to tell the ticks apart.
std::vector<std::string> tick_labels(const std::vector<double>& ticks);

// Where a chart's data went: the plot area on the canvas and its data range.
struct ChartFrame {
  Rect plot;  // pixels of the data area
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double px(double x) const;  // data -> canvas pixels
  double py(double y) const;
};
// Draws a framed line chart of `series` in `area` of the canvas: title, axis labels, ticks with
// grid lines, the lines (non-finite points break a line), and a legend in the corner of the
// plot area the lines cross least. The data range is the series' extent with a small margin.
// Throws csg::Error if no series has a finite point.
ChartFrame line_chart(Canvas& canvas, const Rect& area, const std::vector<Series>& series,
                      const ChartOptions& options);

}  // namespace csg::plot
