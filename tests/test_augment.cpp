// tests/test_augment.cpp — augmentation: PIL / torchvision ops against their real output
// (fixtures from tools/reference/make_augment_fixtures.py, PNGs compared byte for byte),
// OpenCV resize against hand-computed values, RandAugment's table and draws, and the
// classification / segmentation pipelines' geometry.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "csg/augment.h"
#include "csg/data/loader.h"
#include "csg/image.h"
#include "tests/testing.h"

using namespace csg;
namespace aug = csg::augment;
namespace img = csg::image;

namespace {

const std::string kDir = "data/fixtures/augment/";

struct FixtureCase {
  std::string output, source, op;
  std::vector<std::string> tokens;  // the parameters as written
  std::vector<double> params;       // the numeric ones (repr() of a double reads back exactly)
};

std::vector<FixtureCase> read_manifest() {
  std::ifstream f(kDir + "manifest.txt");
  EXPECT_TRUE(f.good()) << "missing " << kDir << "manifest.txt";
  std::vector<FixtureCase> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    FixtureCase c;
    is >> c.output >> c.source >> c.op;
    std::string p;
    while (is >> p) {
      c.tokens.push_back(p);
      c.params.push_back(std::stod(p));
    }
    cases.push_back(c);
  }
  return cases;
}

// Our implementation of each fixture op.
img::Image run_op(const FixtureCase& c, const img::Image& src) {
  const std::vector<double>& p = c.params;
  if (c.op == "grey") {
    std::vector<uint8_t> l = aug::to_grey(src);
    img::Image out = src;
    for (size_t i = 0; i < l.size(); ++i) out.rgb[i * 3] = out.rgb[i * 3 + 1] = out.rgb[i * 3 + 2] = l[i];
    return out;
  }
  if (c.op == "autocontrast") return aug::autocontrast(src);
  if (c.op == "equalize") return aug::equalize(src);
  if (c.op == "posterize") return aug::posterize(src, static_cast<int>(p.at(0)));
  if (c.op == "solarize") return aug::solarize(src, p.at(0));
  if (c.op == "smooth") return aug::smooth(src);
  if (c.op == "color" || c.op == "tv_saturation") return aug::enhance_color(src, p.at(0));
  if (c.op == "contrast" || c.op == "tv_contrast") return aug::enhance_contrast(src, p.at(0));
  if (c.op == "brightness" || c.op == "tv_brightness") return aug::enhance_brightness(src, p.at(0));
  if (c.op == "sharpness") return aug::enhance_sharpness(src, p.at(0));
  if (c.op == "rotate") return aug::rotate(src, p.at(0));
  if (c.op == "shear_x") return aug::shear_x(src, p.at(0));
  if (c.op == "shear_y") return aug::shear_y(src, p.at(0));
  if (c.op == "translate_x") return aug::translate_x(src, p.at(0));
  if (c.op == "translate_y") return aug::translate_y(src, p.at(0));
  if (c.op == "tv_hue") return aug::adjust_hue(src, p.at(0));
  if (c.op == "jitter") {
    aug::JitterParams jp;
    const std::string& order = c.tokens.at(0);  // e.g. "3102": hue, contrast, brightness, saturation
    EXPECT_EQ(order.size(), 4u);
    for (int i = 0; i < 4; ++i) jp.order[i] = order.at(i) - '0';
    for (bool& u : jp.use) u = true;
    jp.brightness = p.at(1);
    jp.contrast = p.at(2);
    jp.saturation = p.at(3);
    jp.hue = p.at(4);
    return aug::color_jitter(src, jp);
  }
  ADD_FAILURE() << "unknown fixture op " << c.op;
  return src;
}

int max_byte_diff(const img::Image& a, const img::Image& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size()) return 256;
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}

// Runs every manifest case whose op is in `ops`; each must match PIL's bytes exactly.
void expect_fixtures_match(const std::set<std::string>& ops, int expected_cases) {
  std::map<std::string, img::Image> sources;
  int n = 0;
  for (const FixtureCase& c : read_manifest()) {
    if (!ops.count(c.op)) continue;
    if (!sources.count(c.source)) sources[c.source] = img::load(kDir + c.source);
    const img::Image expected = img::load(kDir + c.output);
    const img::Image got = run_op(c, sources[c.source]);
    std::ostringstream what;
    what << c.output << ": " << c.op << " on " << c.source;
    for (const std::string& v : c.tokens) what << " " << v;
    EXPECT_EQ(max_byte_diff(got, expected), 0) << what.str();
    ++n;
  }
  EXPECT_EQ(n, expected_cases) << "fixture cases found for this group";
}

img::Image make_image(int w, int h, uint64_t seed) {
  img::Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(static_cast<size_t>(w) * h * 3);
  Generator g(seed);
  for (auto& v : im.rgb) v = static_cast<uint8_t>(aug::randint(g, 0, 255));
  return im;
}

img::Image rgb_row(std::vector<int> values) {  // a 1-row image with R = G = B = values[x]
  img::Image im;
  im.width = static_cast<int>(values.size());
  im.height = 1;
  for (int v : values) im.rgb.insert(im.rgb.end(), {uint8_t(v), uint8_t(v), uint8_t(v)});
  return im;
}

std::vector<int> red_channel(const img::Image& im) {
  std::vector<int> r;
  for (size_t i = 0; i < im.rgb.size(); i += 3) r.push_back(im.rgb[i]);
  return r;
}

bool same_tensor_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_float_vector() == b.to_float_vector();
}

}  // namespace

// ---- PIL / torchvision fixtures -------------------------------------------------------------

TEST(Augment, PointOpsMatchPil) {
  expect_fixtures_match({"grey", "autocontrast", "equalize", "posterize", "solarize"}, 15);
}

TEST(Augment, EnhanceAndSmoothMatchPil) {
  expect_fixtures_match({"smooth", "color", "contrast", "brightness", "sharpness"}, 28);
}

TEST(Augment, RotateShearTranslateMatchPil) {
  // Exact: Pillow's sampling positions (16.16 fixed point for rotate / shear, doubles for
  // translations) are reproduced, so ties at pixel centres resolve the same way.
  expect_fixtures_match({"rotate", "shear_x", "shear_y", "translate_x", "translate_y"}, 41);
}

TEST(Augment, ColorJitterOpsMatchTorchvision) {
  // torchvision's adjust_* on PIL images: ImageEnhance blends and PIL's HSV round trip; exact.
  expect_fixtures_match({"tv_brightness", "tv_contrast", "tv_saturation", "tv_hue", "jitter"}, 26);
}

// ---- hand-computed values -------------------------------------------------------------------------

TEST(Augment, BlendTruncatesAndClamps) {
  const img::Image a = rgb_row({10, 100, 0, 200}), b = rgb_row({20, 0, 255, 201});
  EXPECT_EQ(red_channel(aug::blend(a, b, 0.5)), (std::vector<int>{15, 50, 127, 200}));    // 127.5 -> 127
  EXPECT_EQ(red_channel(aug::blend(a, b, 0.55)), (std::vector<int>{15, 45, 140, 200}));   // truncation
  EXPECT_EQ(red_channel(aug::blend(a, b, 1.9)), (std::vector<int>{29, 0, 255, 201}));     // clamped
  EXPECT_EQ(red_channel(aug::blend(a, b, -0.5)), (std::vector<int>{5, 150, 0, 199}));
  EXPECT_EQ(red_channel(aug::blend(a, b, 0.0)), red_channel(a));
  EXPECT_EQ(red_channel(aug::blend(a, b, 1.0)), red_channel(b));
  // Large images go through a table of all byte pairs: the same bytes as the direct formula
  // used on small ones (here a crop, small enough for the direct path).
  const img::Image big = make_image(160, 150, 21), big2 = make_image(160, 150, 22);
  for (double f : {0.37, 1.63, -0.2}) {
    EXPECT_EQ(img::crop(aug::blend(big, big2, f), 7, 9, 40, 30).rgb,
              aug::blend(img::crop(big, 7, 9, 40, 30), img::crop(big2, 7, 9, 40, 30), f).rgb);
    EXPECT_EQ(img::crop(aug::enhance_color(big, f), 100, 90, 50, 40).rgb,
              aug::enhance_color(img::crop(big, 100, 90, 50, 40), f).rgb);
  }
}

TEST(Augment, GreyIsRoundedLuma) {
  img::Image im;
  im.width = 3;
  im.height = 1;
  im.rgb = {255, 0, 0, 0, 255, 0, 10, 20, 30};
  // 255 * 0.299 = 76.245 -> 76; 255 * 0.587 = 149.685 -> 150; 2.99 + 11.74 + 3.42 = 18.15 -> 18.
  EXPECT_EQ(aug::to_grey(im), (std::vector<uint8_t>{76, 150, 18}));
}

TEST(Augment, SolarizeAndPosterizeThresholds) {
  const img::Image row = rgb_row({0, 127, 204, 205, 255});
  EXPECT_EQ(red_channel(aug::solarize(row, 204.8)), (std::vector<int>{0, 127, 204, 50, 0}));
  EXPECT_EQ(red_channel(aug::posterize(row, 7)), (std::vector<int>{0, 126, 204, 204, 254}));
  EXPECT_EQ(red_channel(aug::posterize(row, 1)), (std::vector<int>{0, 0, 128, 128, 128}));
}

TEST(Augment, GeometryHandChecks) {
  img::Image im = make_image(5, 4, 3);
  // Integer translations move pixels; positive t samples from the right / below.
  img::Image tx = aug::translate_x(im, 2.0), ty = aug::translate_y(im, -1.0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(tx.at(x, y)[c], x + 2 < 5 ? im.at(x + 2, y)[c] : 0);
        EXPECT_EQ(ty.at(x, y)[c], y - 1 >= 0 ? im.at(x, y - 1)[c] : 0);
      }
  // 180 degrees (and -180, 540) flips both axes; 0 and 360 are copies.
  img::Image r = aug::rotate(im, -180.0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(r.at(x, y)[1], im.at(4 - x, 3 - y)[1]);
  EXPECT_EQ(aug::rotate(im, 540.0).rgb, r.rgb);
  EXPECT_EQ(aug::rotate(im, 360.0).rgb, im.rgb);
  img::Image f = aug::hflip(im);
  EXPECT_EQ(f.at(0, 2)[0], im.at(4, 2)[0]);
  EXPECT_EQ(aug::hflip(f).rgb, im.rgb);
}

TEST(Augment, CvResizeMatchesHandComputedValues) {
  // Upscaling 2 -> 4: source x = (dx + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (ends clamped).
  EXPECT_EQ(red_channel(aug::resize_linear_cv(rgb_row({0, 100}), 4, 1)), (std::vector<int>{0, 25, 75, 100}));
  // Rounding of the fixed-point result: 0.25 -> 0, 0.75 -> 1.
  EXPECT_EQ(red_channel(aug::resize_linear_cv(rgb_row({0, 1}), 4, 1)), (std::vector<int>{0, 0, 1, 1}));
  // Downscaling 3 -> 2, no antialiasing: x = 0.25 and 1.75.
  EXPECT_EQ(red_channel(aug::resize_linear_cv(rgb_row({0, 100, 200}), 2, 1)), (std::vector<int>{25, 175}));
  // Vertically, 2 -> 4 rows: y = -0.25 (row 0 twice), 0.25, 0.75, 1.25 (row 1 twice).
  img::Image col;
  col.width = 1;
  col.height = 2;
  col.rgb = {0, 0, 0, 200, 200, 200};
  EXPECT_EQ(red_channel(aug::resize_linear_cv(col, 1, 4)), (std::vector<int>{0, 50, 150, 200}));
  // 2x2 -> 3x3: corners copy, edge midpoints average two pixels, the centre four.
  img::Image sq;
  sq.width = 2;
  sq.height = 2;
  sq.rgb = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40};
  EXPECT_EQ(red_channel(aug::resize_linear_cv(sq, 3, 3)), (std::vector<int>{0, 50, 100, 100, 85, 70, 200, 120, 40}));
  // Same size is a copy.
  img::Image im = make_image(7, 5, 1);
  EXPECT_EQ(aug::resize_linear_cv(im, 7, 5).rgb, im.rgb);

  // Nearest: source x = floor(dx * in / out).
  aug::LabelMap l;
  l.width = 4;
  l.height = 1;
  l.values = {10, 11, 12, 13};
  EXPECT_EQ(aug::resize_nearest_cv(l, 3, 1).values, (std::vector<uint8_t>{10, 11, 12}));
  EXPECT_EQ(aug::resize_nearest_cv(l, 5, 2).values, (std::vector<uint8_t>{10, 10, 11, 12, 13, 10, 10, 11, 12, 13}));
  l.width = 3;
  l.values = {1, 2, 3};
  EXPECT_EQ(aug::resize_nearest_cv(l, 5, 1).values, (std::vector<uint8_t>{1, 1, 2, 2, 3}));
}

TEST(Augment, CvResizeMatchesANaiveReference) {
  // Per output pixel, straight from OpenCV's rules: x weights from the clamped source position,
  // y weights from the unclamped one with the rows clamped, 11-bit weights rounded half to even.
  auto naive = [](const img::Image& im, int ow, int oh) {
    img::Image out;
    out.width = ow;
    out.height = oh;
    out.rgb.resize(static_cast<size_t>(ow) * oh * 3);
    const double sx_scale = 1.0 / (double(ow) / im.width), sy_scale = 1.0 / (double(oh) / im.height);
    for (int dy = 0; dy < oh; ++dy)
      for (int dx = 0; dx < ow; ++dx) {
        float fx = float((dx + 0.5) * sx_scale - 0.5);
        int sx = int(std::floor(fx));
        fx -= sx;
        if (sx < 0) fx = 0, sx = 0;
        if (sx >= im.width - 1) fx = 0, sx = im.width - 1;
        float fy = float((dy + 0.5) * sy_scale - 0.5);
        const int sy = int(std::floor(fy));
        fy -= sy;
        const int a0 = int(std::lrint((1.f - fx) * 2048)), a1 = int(std::lrint(fx * 2048));
        const int b0 = int(std::lrint((1.f - fy) * 2048)), b1 = int(std::lrint(fy * 2048));
        const int ya = std::clamp(sy, 0, im.height - 1), yb = std::clamp(sy + 1, 0, im.height - 1);
        const int xb = std::min(sx + 1, im.width - 1);
        for (int c = 0; c < 3; ++c) {
          const int64_t ha = im.at(sx, ya)[c] * a0 + im.at(xb, ya)[c] * a1;
          const int64_t hb = im.at(sx, yb)[c] * a0 + im.at(xb, yb)[c] * a1;
          const int64_t v = (ha * b0 + hb * b1 + (1 << 21)) >> 22;
          out.at(dx, dy)[c] = uint8_t(std::clamp<int64_t>(v, 0, 255));
        }
      }
    return out;
  };
  const img::Image im = make_image(150, 97, 8);
  for (auto [w, h] : std::vector<std::pair<int, int>>{{203, 131}, {61, 40}, {150, 300}, {113, 97}, {1, 1}})
    EXPECT_EQ(aug::resize_linear_cv(im, w, h).rgb, naive(im, w, h).rgb) << w << "x" << h;
}

TEST(Augment, ColorJitterOnAWindowEqualsCroppingAfterwards) {
  const img::Image im = make_image(37, 29, 12);
  std::array<int, 4> order = {0, 1, 2, 3};
  int n = 0;
  do {  // every op order, so contrast is first, last and in between
    aug::JitterParams p;
    p.order = order;
    for (bool& u : p.use) u = true;
    p.brightness = 1.3;
    p.contrast = 0.62;
    p.saturation = 1.21;
    p.hue = -0.27;
    const img::Image whole = aug::color_jitter(im, p);
    EXPECT_EQ(aug::color_jitter_window(im, p, 5, 3, 20, 11).rgb, img::crop(whole, 5, 3, 20, 11).rgb);
    // A window that runs off the image is clipped to it.
    const img::Image clipped = aug::color_jitter_window(im, p, 30, 20, 16, 16);
    EXPECT_EQ(clipped.width, 7);
    EXPECT_EQ(clipped.height, 9);
    EXPECT_EQ(clipped.rgb, img::crop(whole, 30, 20, 7, 9).rgb);
    ++n;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(n, 24);
}

TEST(Augment, ColorJitterDraws) {
  aug::ColorJitter cj;  // 0.4 each
  std::set<std::array<int, 4>> orders;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Generator g(seed);
    aug::JitterParams p = aug::draw_jitter(cj, g);
    std::array<int, 4> sorted = p.order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::array<int, 4>{0, 1, 2, 3}));
    orders.insert(p.order);
    for (double f : {p.brightness, p.contrast, p.saturation}) {
      EXPECT_GE(f, 0.6);
      EXPECT_LT(f, 1.4);
    }
    EXPECT_GE(p.hue, -0.4);
    EXPECT_LT(p.hue, 0.4);
  }
  EXPECT_EQ(orders.size(), 24u);  // every order occurs
  cj.brightness = 0;
  cj.hue = 0;
  Generator g(1);
  aug::JitterParams p = aug::draw_jitter(cj, g);
  EXPECT_FALSE(p.use[0]);
  EXPECT_FALSE(p.use[3]);
  EXPECT_TRUE(p.use[1] && p.use[2]);
  // With every op off, jitter is the identity.
  aug::JitterParams off;
  img::Image im = make_image(6, 5, 2);
  EXPECT_EQ(aug::color_jitter(im, off).rgb, im.rgb);
}

TEST(Augment, ErrorsNameTheProblem) {
  img::Image im = make_image(4, 3, 0);
  EXPECT_THROW(aug::posterize(im, 0), csg::Error);
  EXPECT_THROW(aug::adjust_hue(im, 0.6), csg::Error);
  EXPECT_THROW(aug::blend(im, make_image(3, 3, 0), 0.5), csg::Error);
  EXPECT_THROW(aug::resize_linear_cv(im, 0, 2), csg::Error);
  EXPECT_THROW(aug::rotate(img::Image{}, 10), csg::Error);
  EXPECT_THROW(aug::crop_pad(aug::LabelMap{4, 3, std::vector<uint8_t>(12, 0)}, 4, 0, 2, 2), csg::Error);
  try {
    aug::posterize(im, 9);
    FAIL() << "no error";
  } catch (const csg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("posterize"), std::string::npos) << e.what();
  }
}

// ---- RandAugment --------------------------------------------------------------------------------

TEST(RandAugment, OpTableAndMagnitudesAtM6) {
  const auto& ops = aug::randaugment_ops();
  const char* names[] = {"Identity", "AutoContrast", "Equalize", "Rotate", "Posterize", "Solarize", "Color",
                         "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXabs", "TranslateYabs"};
  for (int i = 0; i < aug::kNumAugOps; ++i) {
    EXPECT_EQ(std::string(ops[i].name), names[i]);
    EXPECT_EQ(static_cast<int>(ops[i].op), i);
    EXPECT_EQ(ops[i].min, 0.0);
    EXPECT_DOUBLE_EQ(aug::op_magnitude(ops[i].op, 6), 0.2 * ops[i].max);  // all mins are 0
  }
  using Op = aug::AugOp;
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::Rotate, 6), 6.0);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::Posterize, 6), 1.4);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::Solarize, 6), 51.2);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::Color, 6), 0.18);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::ShearX, 6), 0.06);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::TranslateYabs, 6), 20.0);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::AutoContrast, 6), 0.2);
  EXPECT_DOUBLE_EQ(aug::op_magnitude(Op::Rotate, 30), 30.0);
  std::set<Op> signed_ops = {Op::Rotate, Op::Color, Op::Contrast, Op::Brightness, Op::Sharpness,
                             Op::ShearX, Op::ShearY, Op::TranslateXabs, Op::TranslateYabs};
  for (const auto& info : ops) EXPECT_EQ(info.random_sign, signed_ops.count(info.op) == 1) << info.name;
  // At M = 6: Posterize keeps 7 bits, Solarize inverts from 205 up, enhance factors 1 +- 0.18.
  img::Image im = make_image(9, 7, 4);
  EXPECT_EQ(aug::apply_op(im, Op::Posterize, 1.4).rgb, aug::posterize(im, 7).rgb);
  EXPECT_EQ(aug::apply_op(im, Op::Posterize, 7.0).rgb, aug::posterize(im, 1).rgb);
  EXPECT_EQ(aug::apply_op(im, Op::Solarize, 51.2).rgb, aug::solarize(im, 204.8).rgb);
  EXPECT_EQ(aug::apply_op(im, Op::Color, -0.18).rgb, aug::enhance_color(im, 0.82).rgb);
  EXPECT_EQ(aug::apply_op(im, Op::Identity, 0.2).rgb, im.rgb);
  EXPECT_THROW(aug::RandAugment(1, 31), csg::Error);
  EXPECT_THROW(aug::RandAugment(1, -1), csg::Error);
}

TEST(RandAugment, SelectionSignsAndCoinsHaveTheReferenceFrequencies) {
  const img::Image im = make_image(4, 4, 5);
  const aug::RandAugment ra(1, 6);
  Generator gen(123);
  const int draws = 28000;
  std::array<int, aug::kNumAugOps> count{};
  int signed_total = 0, negated = 0, coin_total = 0, coin_applied = 0;
  for (int i = 0; i < draws; ++i) {
    std::vector<aug::AppliedOp> log;
    ra(im, gen, &log);
    ASSERT_EQ(log.size(), 1u);
    const aug::AppliedOp& rec = log[0];
    ++count[static_cast<int>(rec.op)];
    const double v = aug::op_magnitude(rec.op, 6);
    if (aug::op_info(rec.op).random_sign) {
      ++signed_total;
      EXPECT_EQ(std::fabs(rec.value), v);
      negated += rec.value < 0;
    } else {
      EXPECT_EQ(rec.value, v);
    }
    if (rec.op == aug::AugOp::AutoContrast || rec.op == aug::AugOp::Equalize) {
      ++coin_total;
      coin_applied += rec.applied;
    } else {
      EXPECT_TRUE(rec.applied);
    }
  }
  // Uniform over 14 ops: chi-square with 13 degrees of freedom (p = 0.001 at 34.5).
  const double expected = draws / 14.0;
  double chi2 = 0;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 34.5);
  for (int c : count) EXPECT_GT(c, 0);
  EXPECT_NEAR(negated / double(signed_total), 0.5, 0.02);
  EXPECT_NEAR(coin_applied / double(coin_total), 0.2, 0.025);  // "with probability v", v = 0.2
}

TEST(RandAugment, DeterministicGivenASeedAndReplayable) {
  const img::Image im = make_image(21, 17, 6);
  const aug::RandAugment ra(2, 9);
  int differing = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Generator g1(seed), g2(seed), g3(seed + 1000);
    std::vector<aug::AppliedOp> log1, log2, log3;
    const img::Image a = ra(im, g1, &log1), b = ra(im, g2, &log2);
    ra(im, g3, &log3);
    EXPECT_EQ(a.rgb, b.rgb);
    ASSERT_EQ(log1.size(), 2u);
    ASSERT_EQ(log2.size(), 2u);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(log1[i].op, log2[i].op);
      EXPECT_EQ(log1[i].value, log2[i].value);
    }
    differing += log1[0].op != log3[0].op || log1[1].op != log3[1].op || log1[0].value != log3[0].value;
    // The log says exactly what was applied, in order.
    img::Image replay = im;
    for (const aug::AppliedOp& rec : log1)
      if (rec.applied) replay = aug::apply_op(replay, rec.op, rec.value);
    EXPECT_EQ(replay.rgb, a.rgb) << "seed " << seed;
  }
  EXPECT_GT(differing, 20);
}

// Relative geometry: the translations are the reference's pixels at 224 px scaled to the image
// (x by its width, y by its height); every other op, rotation and shear included, is unchanged,
// and the same draws pick the same ops and signs.
TEST(RandAugment, RelativeTranslationsScaleWithTheImage) {
  const img::Image im = make_image(32, 16, 7);  // 32 wide, 16 high
  const aug::RandAugment absolute(1, 6), relative(1, 6, aug::kRandAugmentReferenceSize);
  EXPECT_EQ(relative.translate_reference(), 224);
  int translations = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Generator g1(seed), g2(seed);
    std::vector<aug::AppliedOp> a, r;
    absolute(im, g1, &a);
    const img::Image out = relative(im, g2, &r);
    ASSERT_EQ(a[0].op, r[0].op);
    if (a[0].op == aug::AugOp::TranslateXabs) {
      EXPECT_DOUBLE_EQ(r[0].value, a[0].value * 32.0 / 224.0);  // +-20 px at 224: +-2.86 px of 32
      ++translations;
    } else if (a[0].op == aug::AugOp::TranslateYabs) {
      EXPECT_DOUBLE_EQ(r[0].value, a[0].value * 16.0 / 224.0);
      ++translations;
    } else {
      EXPECT_EQ(r[0].value, a[0].value) << aug::op_info(a[0].op).name;
    }
    // The log says what was applied: the scaled translation.
    EXPECT_EQ(out.rgb, r[0].applied ? aug::apply_op(im, r[0].op, r[0].value).rgb : im.rgb);
  }
  EXPECT_GT(translations, 30);  // about 2 in 14 draws
  EXPECT_THROW(aug::RandAugment(1, 6, -1), csg::Error);
}

// ---- classification pipelines ---------------------------------------------------------------------

TEST(Transform, ClassificationEvalIsTorchvisionResizeCenterCrop) {
  const img::Image src = img::load("data/fixtures/image/source.png");  // 53x37
  aug::ClassificationTransform t;
  t.resize = 24;
  t.crop = 24;
  const Tensor got = aug::classification_eval(src, t);
  EXPECT_TRUE(same_tensor_values(got, img::to_tensor(img::load("data/fixtures/image/resize24_crop24.png"))));
  t.augment = false;  // the no-augment train view is the same, and k is q
  Generator gen(1);
  aug::ViewPair v = aug::classification_train_views(src, t, gen);
  EXPECT_TRUE(same_tensor_values(v.q, got));
  EXPECT_EQ(v.q.data<float>(), v.k.data<float>());
  EXPECT_EQ(gen.offset(), 0u);  // no draws
}

TEST(Transform, ClassificationTrainViewsAreIndependentDraws) {
  const img::Image src = img::load("data/fixtures/image/source.png");
  aug::ClassificationTransform t;
  t.resize = 32;
  t.crop = 32;
  int views_differ = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Generator g(seed), again(seed), replay(seed);
    aug::ViewPair v = aug::classification_train_views(src, t, g);
    aug::ViewPair w = aug::classification_train_views(src, t, again);
    ASSERT_EQ(v.q.shape(), (Shape{3, 32, 32}));
    ASSERT_EQ(v.k.shape(), (Shape{3, 32, 32}));
    EXPECT_TRUE(same_tensor_values(v.q, w.q));
    EXPECT_TRUE(same_tensor_values(v.k, w.k));
    views_differ += !same_tensor_values(v.q, v.k);
    // q = RandAugment -> resize shorter side to 32 (45x32) -> random 32x32 crop -> normalise.
    const img::Image augmented = aug::RandAugment(1, 6)(src, replay);
    const img::Image resized = img::resize_shorter_side(augmented, 32);
    EXPECT_EQ(resized.width, 45);
    const img::Image cropped = aug::random_crop(resized, 32, 32, replay);
    EXPECT_TRUE(same_tensor_values(v.q, img::to_tensor(cropped)));
  }
  EXPECT_GE(views_differ, 9);
}

TEST(Transform, RandomCropCoversEveryOffsetUniformly) {
  img::Image row = rgb_row({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  std::array<int, 4> hits{};
  Generator gen(9);
  for (int i = 0; i < 4000; ++i) {
    img::Image c = aug::random_crop(row, 7, 1, gen);
    ASSERT_EQ(c.width, 7);
    ++hits[c.rgb[0]];
  }
  for (int h : hits) EXPECT_NEAR(h, 1000, 120);
  EXPECT_THROW(aug::random_crop(row, 11, 1, gen), csg::Error);
}

// ---- segmentation pipeline -------------------------------------------------------------------------

namespace {

// Pixel (x, y) has R = G = B = code(x, y); the label map holds the same codes.
uint8_t code(int x, int y) { return static_cast<uint8_t>((x * 7 + y * 31) % 250); }

void make_pair(int w, int h, img::Image& im, aug::LabelMap& lab) {
  im.width = lab.width = w;
  im.height = lab.height = h;
  im.rgb.clear();
  lab.values.clear();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      im.rgb.insert(im.rgb.end(), {code(x, y), code(x, y), code(x, y)});
      lab.values.push_back(code(x, y));
    }
}

float normalised(uint8_t v, int c) {
  const std::array<double, 3> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
  return static_cast<float>((static_cast<double>(v / 255.0f) - mean[c]) / std[c]);
}

// The R value of output pixel (x, y) of a normalised [3,H,W] tensor, or -1 when it is padding (0).
int decode_red(const std::vector<float>& t, int w, int x, int y) {
  const float v = t[static_cast<size_t>(y) * w + x];
  if (v == 0.0f) return -1;
  for (int r = 0; r < 256; ++r)
    if (normalised(static_cast<uint8_t>(r), 0) == v) return r;
  return -2;
}

}  // namespace

TEST(Transform, SegmentationPadsSmallInputsSymmetrically) {
  img::Image im;
  aug::LabelMap lab;
  make_pair(6, 3, im, lab);
  aug::SegmentationTransform t;
  t.crop_width = 9;
  t.crop_height = 8;
  t.scale_min = t.scale_max = 1.0;
  t.mirror_probability = 0.0;
  t.key_view = false;
  Generator gen(0);
  aug::SegmentationSample s = aug::segmentation_train(im, lab, t, gen);
  EXPECT_EQ(s.crop_x, 0);
  EXPECT_EQ(s.crop_y, 0);
  EXPECT_FALSE(s.key.defined());
  ASSERT_EQ(s.image.shape(), (Shape{3, 8, 9}));
  ASSERT_EQ(s.label.width, 9);
  ASSERT_EQ(s.label.height, 8);
  // 3 of 9 columns missing: 1 left, 2 right; 5 of 8 rows missing: 2 top, 3 bottom.
  const std::vector<float> v = s.image.to_float_vector();
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 9; ++x) {
      const bool inside = x >= 1 && x < 7 && y >= 2 && y < 5;
      if (inside) {
        EXPECT_EQ(s.label.at(x, y), code(x - 1, y - 2));
        for (int c = 0; c < 3; ++c) EXPECT_EQ(v[(c * 8 + y) * 9 + x], normalised(code(x - 1, y - 2), c));
      } else {
        EXPECT_EQ(s.label.at(x, y), 255);
        for (int c = 0; c < 3; ++c) EXPECT_EQ(v[(c * 8 + y) * 9 + x], 0.0f);
      }
    }
  // Mirrored: the same layout of the flipped image and labels.
  t.mirror_probability = 1.0;
  s = aug::segmentation_train(im, lab, t, gen);
  EXPECT_TRUE(s.mirrored);
  EXPECT_EQ(s.label.at(1, 2), code(5, 0));
  EXPECT_EQ(s.label.at(6, 4), code(0, 2));
}

TEST(Transform, SegmentationCropOffsetsIncludeOnePastTheLastFullCrop) {
  Generator g(4);
  std::array<int, 5> hits{};
  for (int i = 0; i < 5000; ++i) {
    const int o = aug::crop_offset(10, 7, g);  // randint(0, 10 - 7 + 1): 0..4
    ASSERT_TRUE(o >= 0 && o <= 4) << o;
    ++hits[o];
  }
  for (int h : hits) EXPECT_NEAR(h, 1000, 120);
  EXPECT_EQ(aug::crop_offset(7, 7, g), 0);
  EXPECT_EQ(aug::crop_offset(5, 7, g), 0);

  // At the last offset the crop is one short and padded at the bottom / right.
  img::Image im;
  aug::LabelMap lab;
  make_pair(10, 9, im, lab);
  aug::SegmentationTransform t;
  t.crop_width = 7;
  t.crop_height = 6;
  t.scale_min = t.scale_max = 1.0;
  bool seen_last_x = false, seen_last_y = false;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator gen(seed);
    aug::SegmentationSample s = aug::segmentation_train(im, lab, t, gen);
    ASSERT_LE(s.crop_x, 4);
    ASSERT_LE(s.crop_y, 4);
    const std::vector<float> v = s.image.to_float_vector(), k = s.key.to_float_vector();
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 7; ++x) {
        const bool pad = (s.crop_x == 4 && x == 6) || (s.crop_y == 4 && y == 5);
        const int sx = s.mirrored ? 9 - (s.crop_x + x) : s.crop_x + x;
        if (pad) {
          EXPECT_EQ(s.label.at(x, y), 255);
          EXPECT_EQ(decode_red(v, 7, x, y), -1);
          EXPECT_EQ(k[static_cast<size_t>(y) * 7 + x], 0.0f);  // key padded identically
        } else {
          // Image and labels come from the same source pixel.
          EXPECT_EQ(s.label.at(x, y), code(sx, s.crop_y + y));
          EXPECT_EQ(decode_red(v, 7, x, y), code(sx, s.crop_y + y));
        }
      }
    seen_last_x |= s.crop_x == 4;
    seen_last_y |= s.crop_y == 4;
  }
  EXPECT_TRUE(seen_last_x);
  EXPECT_TRUE(seen_last_y);
}

TEST(Transform, SegmentationScalesAndJittersTheKeyAtTheSameCrop) {
  img::Image im = make_image(40, 30, 11);
  aug::LabelMap lab;
  lab.width = 40;
  lab.height = 30;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) lab.values.push_back(static_cast<uint8_t>((x / 5 + y / 5 * 8) % 19));
  aug::SegmentationTransform t;
  t.crop_width = 24;
  t.crop_height = 20;
  std::set<bool> mirrors;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    Generator gen(seed), again(seed);
    aug::SegmentationSample s = aug::segmentation_train(im, lab, t, gen);
    aug::SegmentationSample s2 = aug::segmentation_train(im, lab, t, again);
    EXPECT_TRUE(same_tensor_values(s.image, s2.image));  // deterministic given the seed
    EXPECT_TRUE(same_tensor_values(s.key, s2.key));
    EXPECT_EQ(s.label.values, s2.label.values);
    mirrors.insert(s.mirrored);
    EXPECT_GE(s.scale, 0.75);
    EXPECT_LT(s.scale, 1.25);
    EXPECT_EQ(s.scaled_width, static_cast<int>(40 * s.scale));
    EXPECT_EQ(s.scaled_height, static_cast<int>(30 * s.scale));
    // Rebuild the sample from what was drawn.
    const img::Image flipped = s.mirrored ? aug::hflip(im) : im;
    const aug::LabelMap lflipped = s.mirrored ? aug::hflip(lab) : lab;
    const img::Image scaled = aug::resize_linear_cv(flipped, s.scaled_width, s.scaled_height);
    const aug::LabelMap lscaled = aug::resize_nearest_cv(lflipped, s.scaled_width, s.scaled_height);
    EXPECT_TRUE(same_tensor_values(
        s.image, aug::crop_pad_normalised(scaled, s.crop_x, s.crop_y, 24, 20, t.mean, t.std)));
    EXPECT_TRUE(same_tensor_values(s.key, aug::crop_pad_normalised(aug::color_jitter(scaled, s.jitter), s.crop_x,
                                                                    s.crop_y, 24, 20, t.mean, t.std)));
    EXPECT_EQ(s.label.values, aug::crop_pad(lscaled, s.crop_x, s.crop_y, 24, 20).values);
    EXPECT_FALSE(same_tensor_values(s.image, s.key));
    Tensor lt = data::label_map_tensor(s.label);  // the loader's target: [H, W] int64
    EXPECT_EQ(lt.shape(), (Shape{20, 24}));
    EXPECT_EQ(lt.dtype(), DType::I64);
  }
  EXPECT_EQ(mirrors.size(), 2u);
  // Labels must match the image size.
  lab.width = 39;
  Generator gen(0);
  EXPECT_THROW(aug::segmentation_train(im, lab, t, gen), csg::Error);
}

TEST(Transform, LoaderTransformsCarryTheViewsAndTargets) {
  data::Sample cls;
  cls.image = img::load("data/fixtures/image/source.png");
  cls.label = 7;
  aug::ClassificationTransform ct;
  ct.resize = ct.crop = 16;
  Generator g1(3), g2(3);
  data::Item item = aug::classification_train_transform(ct)(cls, g1);
  aug::ViewPair v = aug::classification_train_views(cls.image, ct, g2);
  ASSERT_EQ(item.views.size(), 2u);
  EXPECT_TRUE(same_tensor_values(item.views[0], v.q));
  EXPECT_TRUE(same_tensor_values(item.views[1], v.k));
  EXPECT_EQ(item.label, 7);

  data::Sample seg;
  aug::LabelMap lab;
  make_pair(30, 20, seg.image, lab);
  seg.label_map = lab;
  aug::SegmentationTransform st;
  st.crop_width = 16;
  st.crop_height = 12;
  Generator g3(5), g4(5);
  item = aug::segmentation_train_transform(st)(seg, g3);
  aug::SegmentationSample r = aug::segmentation_train(seg.image, lab, st, g4);
  ASSERT_EQ(item.views.size(), 2u);
  EXPECT_TRUE(same_tensor_values(item.views[0], r.image));
  EXPECT_TRUE(same_tensor_values(item.views[1], r.key));
  ASSERT_EQ(item.label_map.shape(), (Shape{12, 16}));
  const std::vector<float> lm = item.label_map.to_float_vector();
  for (size_t i = 0; i < lm.size(); ++i) EXPECT_EQ(lm[i], r.label.values[i]);
  st.key_view = false;
  EXPECT_EQ(aug::segmentation_train_transform(st)(seg, g3).views.size(), 1u);
}
