// tests/test_digits_prior.cpp — the real-image priors of the digits benchmark: the UCI
// handwritten-digits reader (a committed 20-row excerpt of scikit-learn's digits.csv.gz,
// truncated and malformed copies of it), the upsampling, the fashion+uci training and test
// sets (labels, oversampling, held-out digits) and a fashion+uci pretraining end to end.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "csg/digits/data.h"
#include "csg/io/safetensors.h"
#include "src/digits/pretrain.h"
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

TEST(PriorSets, FashionPlusUciLabelsShareAndHeldOutDigits) {
  TempDir tmp;
  csg::testing::write_fashion_fixture(tmp / "fashion", 120, 30);
  const PriorSets fashion = open_prior_sets("fashion", tmp / "fashion", "", 32);
  EXPECT_EQ(fashion.num_classes, 10);
  EXPECT_EQ(fashion.train->size(), 120);
  ASSERT_EQ(fashion.tests.size(), 1u);

  const PriorSets both = open_prior_sets("fashion+uci", tmp / "fashion", kFixture, 32);
  EXPECT_EQ(both.num_classes, 20);
  // 20 digits: every 5th (4) held out, 16 trained on; 120 / 6 = 20 draws -> round(20 / 16) = 1 copy.
  EXPECT_EQ(both.uci_train, 16);
  EXPECT_EQ(both.uci_copies, 1);
  ASSERT_EQ(both.train->size(), 120 + 16);
  std::multiset<int64_t> digit_labels;
  for (int64_t i = 0; i < both.train->size(); ++i) {
    const Sample s = both.train->get(i);
    EXPECT_EQ(s.image.width, 32);
    if (i < 120) EXPECT_EQ(s.label, i % 10) << i;  // Fashion-MNIST keeps 0..9
    else digit_labels.insert(s.label);
  }
  // The trained digits are lines 2-5, 7-10, ... of the file (classes 1-4, 6-9, 1-4, 6-9), as 10 + class.
  EXPECT_EQ(digit_labels, (std::multiset<int64_t>{11, 12, 13, 14, 16, 17, 18, 19, 11, 12, 13, 14, 16, 17, 18, 19}));
  ASSERT_EQ(both.tests.size(), 2u);
  EXPECT_EQ(both.tests[1].first, "UCI digits held out");
  ASSERT_EQ(both.tests[1].second->size(), 4);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(both.tests[1].second->get(i).label, 10 + (i * 5) % 10) << i;

  // The Fashion-MNIST share sets the copies: 600 images -> 100 draws -> round(100 / 16) = 6 copies.
  csg::testing::write_fashion_fixture(tmp / "fashion600", 600, 10);
  const PriorSets more = open_prior_sets("fashion+uci", tmp / "fashion600", kFixture, 32);
  EXPECT_EQ(more.uci_copies, 6);
  EXPECT_EQ(more.train->size(), 600 + 6 * 16);

  const std::string msg = error_of([&] { open_prior_sets("imagenet", tmp / "fashion", kFixture, 32); });
  EXPECT_NE(msg.find("fashion and fashion+uci"), std::string::npos) << msg;
}

TEST(PriorSets, PretrainFashionPlusUciWritesA20ClassPrior) {
  TempDir tmp;
  csg::testing::write_fashion_fixture(tmp / "fashion", 64, 20);
  train::PretrainConfig pc;
  pc.kind = "fashion+uci";
  pc.fashion_dir = tmp / "fashion";
  pc.uci_path = kFixture;
  pc.width = 4;
  pc.epochs = 1;
  pc.batch_size = 16;
  pc.workers = 0;
  pc.quiet = true;
  pc.out_path = tmp / "prior.safetensors";
  const train::PretrainResult r = train::pretrain_prior(pc);
  ASSERT_EQ(r.test_accuracies.size(), 2u);
  EXPECT_EQ(r.test_accuracies[0].first, "Fashion-MNIST test");
  EXPECT_EQ(r.test_accuracies[1].first, "UCI digits held out");
  for (const auto& [split, acc] : r.test_accuracies) {
    EXPECT_GE(acc, 0.0) << split;
    EXPECT_LE(acc, 100.0) << split;
  }
  std::map<std::string, std::string> meta;
  bool found_fc = false;
  for (const NamedTensor& t : load_safetensors(r.path, &meta)) {
    if (t.name != "fc.weight") continue;
    found_fc = true;
    EXPECT_EQ(t.tensor.size(0), 20);  // 10 products + 10 digits
  }
  EXPECT_TRUE(found_fc);
  EXPECT_EQ(meta["classes"], "20");
  EXPECT_NE(meta["what"].find("fashion+uci"), std::string::npos);
}
