// tests/test_plot.cpp — the raster plotting library: PNG output, antialiased primitives,
// stb_easy_font text, ticks, colormap and the line chart.
#include <cmath>
#include <set>

#include "csg/image.h"
#include "csg/plot.h"
#include "tests/testing.h"

using namespace csg;
using plot::Canvas;
using plot::Color;

namespace {

bool is_background(const Canvas& c, int x, int y) { return c.pixel(x, y) == plot::kWhite; }

int darkness(Color c) { return 255 * 3 - c.r - c.g - c.b; }

// Inked (non-white) pixels inside and outside the box [x0, x1) x [y0, y1).
void count_ink(const Canvas& c, int x0, int y0, int x1, int y1, int& inside, int& outside) {
  inside = outside = 0;
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x) {
      if (is_background(c, x, y)) continue;
      (x >= x0 && x < x1 && y >= y0 && y < y1 ? inside : outside)++;
    }
}

}  // namespace

TEST(Plot, PngRoundTripKeepsSizeAndPixels) {
  csg::testing::TempDir tmp;
  Canvas c(37, 23, {10, 20, 30});
  c.set(5, 7, {250, 0, 0});
  c.set(36, 22, {0, 200, 100});
  c.set(40, 40, {1, 2, 3});  // outside: ignored
  const std::string path = tmp / "canvas.png";
  plot::write_png(c, path);
  const image::Image im = image::load(path);  // stb_image decodes it
  ASSERT_EQ(im.width, 37);
  ASSERT_EQ(im.height, 23);
  EXPECT_EQ(im.at(5, 7)[0], 250);
  EXPECT_EQ(im.at(5, 7)[1], 0);
  EXPECT_EQ(im.at(36, 22)[1], 200);
  EXPECT_EQ(im.at(36, 22)[2], 100);
  EXPECT_EQ(im.at(0, 0)[0], 10);
  EXPECT_EQ(im.at(0, 0)[2], 30);
  EXPECT_THROW(plot::write_png(c, tmp / "no_such_dir/x.png"), Error);
}

TEST(Plot, HorizontalLineCoversItsRowsOnly) {
  Canvas c(60, 30);
  c.line(10, 15, 50, 15, plot::kBlack, 2.0);  // covers y in [14, 16]: rows 14 and 15
  for (int x = 12; x <= 48; ++x) {
    EXPECT_EQ(c.pixel(x, 14), plot::kBlack) << x;
    EXPECT_EQ(c.pixel(x, 15), plot::kBlack) << x;
    EXPECT_TRUE(is_background(c, x, 12)) << x;
    EXPECT_TRUE(is_background(c, x, 17)) << x;
  }
  EXPECT_TRUE(is_background(c, 5, 15));   // before the start cap
  EXPECT_TRUE(is_background(c, 55, 15));  // after the end
  int inside, outside;
  count_ink(c, 8, 12, 53, 18, inside, outside);
  EXPECT_GT(inside, 80);
  EXPECT_EQ(outside, 0);
}

TEST(Plot, DiagonalLineIsAntialiasedAlongTheDiagonal) {
  Canvas c(40, 40);
  c.line(5, 5, 35, 35, {0, 0, 255}, 1.5);
  for (int k = 8; k < 32; ++k) {
    EXPECT_GT(darkness(c.pixel(k, k)), 300) << k;       // on the line: strongly blue
    EXPECT_TRUE(is_background(c, k, k + 4)) << k;       // 4 px below it: untouched
    EXPECT_TRUE(is_background(c, k + 4, k)) << k;
  }
  // Antialiasing: some pixels are only partly covered.
  bool partial = false;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) {
      const int d = darkness(c.pixel(x, y));
      partial = partial || (d > 20 && d < 480);
    }
  EXPECT_TRUE(partial);
}

TEST(Plot, FillRectBlendsPartialPixelsByArea) {
  Canvas c(10, 10);
  c.fill_rect(2, 2, 4.5, 5, plot::kBlack);
  EXPECT_EQ(c.pixel(2, 2), plot::kBlack);
  EXPECT_EQ(c.pixel(3, 4), plot::kBlack);
  EXPECT_NEAR(c.pixel(4, 3).r, 128, 1);  // half covered
  EXPECT_TRUE(is_background(c, 5, 3));
  EXPECT_TRUE(is_background(c, 3, 5));
  EXPECT_TRUE(is_background(c, 1, 3));
}

TEST(Plot, CircleOutlineAndDisc) {
  Canvas c(50, 50);
  c.circle(25, 25, 15, plot::kBlack, 2.0);
  EXPECT_GT(darkness(c.pixel(39, 25)), 500);  // pixel centre 39.5 is 14.5 from the centre
  EXPECT_GT(darkness(c.pixel(25, 10)), 500);
  EXPECT_TRUE(is_background(c, 25, 25));  // hollow
  EXPECT_TRUE(is_background(c, 45, 25));
  c.disc(25, 25, 5, {255, 0, 0});
  EXPECT_EQ(c.pixel(25, 25), (Color{255, 0, 0}));
  EXPECT_TRUE(is_background(c, 32, 25));
}

TEST(Plot, TextInksInsideItsBoxOnly) {
  const std::string s = "Loss 0.42 (CSG)";
  const double w = plot::text_width(s, 2.0), h = plot::text_height(s, 2.0);
  EXPECT_NEAR(h, 18.0, 1e-9);  // one line: 9 font units
  EXPECT_NEAR(plot::text_width("A", 3.0), 18.0, 1e-9);  // 'A' advances 6 units
  Canvas c(300, 60);
  plot::draw_text(c, 20, 15, s);
  int inside, outside;
  count_ink(c, 20, 15, 20 + static_cast<int>(std::ceil(w)), 15 + static_cast<int>(std::ceil(h)), inside, outside);
  EXPECT_GT(inside, 150);
  EXPECT_EQ(outside, 0);

  // Right/bottom alignment puts the same box to the left of and above the anchor.
  Canvas r(300, 60);
  plot::TextStyle st;
  st.halign = plot::HAlign::Right, st.valign = plot::VAlign::Bottom;
  plot::draw_text(r, 20 + w, 15 + h, s, st);
  int inside_r, outside_r;
  count_ink(r, 20, 15, 20 + static_cast<int>(std::ceil(w)), 15 + static_cast<int>(std::ceil(h)), inside_r, outside_r);
  EXPECT_EQ(inside_r, inside);
  EXPECT_EQ(outside_r, 0);
}

TEST(Plot, VerticalTextFillsTheRotatedBox) {
  const std::string s = "InfoNCE";
  const double w = plot::text_width(s, 2.0), h = plot::text_height(s, 2.0);
  Canvas c(60, 200);
  plot::TextStyle st;
  st.vertical = true;
  plot::draw_text(c, 10, 20, s, st);
  int inside, outside;
  count_ink(c, 10, 20, 10 + static_cast<int>(std::ceil(h)), 20 + static_cast<int>(std::ceil(w)), inside, outside);
  EXPECT_GT(inside, 80);
  EXPECT_EQ(outside, 0);
  // It reads bottom to top: text that is ink then blanks inks only the lower half of its box.
  const std::string half_blank = "MMMM    ";
  const double lw = plot::text_width(half_blank, 2.0), lh = plot::text_height(half_blank, 2.0);
  Canvas v(60, 200);
  plot::draw_text(v, 10, 20, half_blank, st);
  int lower, elsewhere;
  count_ink(v, 10, 20 + static_cast<int>(lw / 2), 10 + static_cast<int>(std::ceil(lh)), 20 + static_cast<int>(lw) + 1,
            lower, elsewhere);
  EXPECT_GT(lower, 50);
  EXPECT_EQ(elsewhere, 0);
}

TEST(Plot, DifferentTextsDrawDifferentPixels) {
  Canvas a(40, 30), b(40, 30);
  plot::draw_text(a, 5, 5, "1");
  plot::draw_text(b, 5, 5, "7");
  bool differ = false;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) differ = differ || a.pixel(x, y) != b.pixel(x, y);
  EXPECT_TRUE(differ);
  Canvas u(40, 30);
  plot::draw_text(u, 5, 5, "\x01\t");  // unprintable: drawn as '?', no out-of-range read
  int inside, outside;
  count_ink(u, 0, 0, 40, 30, inside, outside);
  EXPECT_GT(inside, 0);
}

TEST(Plot, ViridisEndpointsAndMonotoneBrightness) {
  EXPECT_EQ(plot::viridis(0), (Color{68, 1, 84}));
  EXPECT_EQ(plot::viridis(1), (Color{253, 231, 37}));
  EXPECT_EQ(plot::viridis(0.5), (Color{33, 145, 140}));
  EXPECT_EQ(plot::viridis(-3), plot::viridis(0));
  EXPECT_EQ(plot::viridis(NAN), plot::viridis(0));
  double last = -1;
  for (int k = 0; k <= 50; ++k) {
    const Color c = plot::viridis(k / 50.0);
    const double lum = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
    EXPECT_GT(lum, last) << k;
    last = lum;
  }
}

TEST(Plot, NiceTicksAndLabels) {
  std::vector<double> t = plot::nice_ticks(0, 1, 5);
  ASSERT_EQ(t.size(), 6u);
  for (size_t k = 0; k < t.size(); ++k) EXPECT_NEAR(t[k], 0.2 * k, 1e-12);
  EXPECT_EQ(plot::tick_labels(t), (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  t = plot::nice_ticks(0.13, 2.37, 5);
  EXPECT_EQ(plot::tick_labels(t), (std::vector<std::string>{"0.5", "1.0", "1.5", "2.0"}));
  t = plot::nice_ticks(0, 372, 6);
  EXPECT_EQ(plot::tick_labels(t), (std::vector<std::string>{"0", "50", "100", "150", "200", "250", "300", "350"}));
  t = plot::nice_ticks(-2.5, -0.5, 4);
  EXPECT_EQ(plot::tick_labels(t), (std::vector<std::string>{"-2.5", "-2.0", "-1.5", "-1.0", "-0.5"}));
  EXPECT_THROW(plot::nice_ticks(1, 1, 5), Error);
}

TEST(Plot, LineChartDrawsSeriesAtTheirDataPositions) {
  Canvas c(640, 400);
  plot::Series a{"baseline", {0, 10, 20, 30}, {2.3, 1.9, 1.5, 1.2}, plot::category_color(0), 3.0};
  plot::Series b{"baseline", {0, 10, 20, 30}, {2.2, 2.0, 1.7, 1.4}, plot::category_color(0), 3.0};
  plot::Series s{"CSG", {0, 10, 20, 30}, {2.3, 2.1, NAN, 1.6}, plot::category_color(1), 3.0};
  plot::ChartOptions o;
  o.title = "task loss";
  o.x_label = "step";
  o.y_label = "loss";
  const plot::ChartFrame f = plot::line_chart(c, {0, 0, 640, 400}, {a, b, s}, o);
  EXPECT_LE(f.y_min, 1.2);
  EXPECT_GE(f.y_max, 2.3);
  EXPECT_DOUBLE_EQ(f.x_min, 0);
  EXPECT_DOUBLE_EQ(f.x_max, 30);
  EXPECT_NEAR(f.px(0), f.plot.x, 1e-9);
  EXPECT_NEAR(f.py(f.y_min), f.plot.y + f.plot.h, 1e-9);
  // The midpoint of baseline's segment (10, 1.9)-(20, 1.5) carries its colour.
  const Color mid = c.pixel(static_cast<int>(f.px(15)), static_cast<int>(f.py(1.7)));
  EXPECT_EQ(mid, plot::category_color(0));
  // CSG has a NaN at step 20: no CSG line between steps 10 and 30 (gap), checked halfway.
  const int gx = static_cast<int>(f.px(20)), gy = static_cast<int>(f.py(1.85));
  EXPECT_NE(c.pixel(gx, gy), plot::category_color(1));
  // Labels and ticks drew ink left of and below the plot area.
  int ink_left = 0, ink_below = 0;
  for (int y = f.plot.y; y < f.plot.y + f.plot.h; ++y)
    for (int x = 0; x < f.plot.x - 6; ++x) ink_left += !is_background(c, x, y);
  for (int y = f.plot.y + f.plot.h + 6; y < 400; ++y)
    for (int x = f.plot.x; x < f.plot.x + f.plot.w; ++x) ink_below += !is_background(c, x, y);
  EXPECT_GT(ink_left, 100);
  EXPECT_GT(ink_below, 100);
  EXPECT_THROW(plot::line_chart(c, {0, 0, 640, 400}, {plot::Series{"x", {NAN}, {1}}}, o), Error);
}

TEST(Plot, LegendAvoidsTheCornerTheLinesCross) {
  // Black pixels inside the plot area (away from its frame) are legend text.
  auto black_in = [](const Canvas& c, const plot::ChartFrame& f, bool left_half, bool top_half) {
    int n = 0;
    const int x0 = left_half ? f.plot.x + 3 : f.plot.x + f.plot.w / 2, x1 = x0 + f.plot.w / 2 - 3;
    const int y0 = top_half ? f.plot.y + 3 : f.plot.y + f.plot.h / 2, y1 = y0 + f.plot.h / 2 - 3;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) n += darkness(c.pixel(x, y)) > 600;
    return n;
  };
  plot::ChartOptions o;
  Canvas rising(500, 300);  // bottom-left to top-right: the legend goes top-left
  plot::ChartFrame f = plot::line_chart(rising, {0, 0, 500, 300}, {{"up", {0, 10}, {0, 10}, plot::category_color(0)}}, o);
  EXPECT_GT(black_in(rising, f, true, true), 20);
  EXPECT_EQ(black_in(rising, f, false, true), 0);
  Canvas falling(500, 300);  // top-left to bottom-right: top-right is free
  f = plot::line_chart(falling, {0, 0, 500, 300}, {{"down", {0, 10}, {10, 0}, plot::category_color(0)}}, o);
  EXPECT_GT(black_in(falling, f, false, true), 20);
  EXPECT_EQ(black_in(falling, f, true, true), 0);
}
