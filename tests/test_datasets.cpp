// tests/test_datasets.cpp — image lists and the VisDA layout, the Cityscapes label table, label
// PNGs read by index (palette, grey, bit depths, filters, interlacing), GTA5 / Cityscapes
// discovery and the tiny synthetic data sets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/testing.h"
#include "csg/data/datasets.h"
#include "csg/data/label_png.h"
#include "csg/data/labels.h"
#include "csg/data/tiny.h"

#include <stb/stb_image_write.h>
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

namespace fs = std::filesystem;
using csg::testing::TempDir;
using namespace csg;
using namespace csg::data;

namespace {

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The error message of f(), or "" if it does not throw csg::Error.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const csg::Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)

// ---- a PNG assembler for hand-made test vectors (independent of the reader) ----------------
uint32_t test_crc32(const std::vector<uint8_t>& bytes) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}
void chunk(std::vector<uint8_t>& png, const std::string& type, const std::vector<uint8_t>& data) {
  put32(png, uint32_t(data.size()));
  std::vector<uint8_t> body(type.begin(), type.end());
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put32(png, test_crc32(body));
}
// `raw` is the already filtered (and, for interlace=1, pass-ordered) scanline data.
std::vector<uint8_t> make_png(uint32_t w, uint32_t h, int depth, int colour_type, int interlace,
                              std::vector<uint8_t> raw, int palette_entries = 0) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr.insert(ihdr.end(), {uint8_t(depth), uint8_t(colour_type), 0, 0, uint8_t(interlace)});
  chunk(png, "IHDR", ihdr);
  if (palette_entries) chunk(png, "PLTE", std::vector<uint8_t>(3 * palette_entries, 0x80));
  int zlen = 0;
  unsigned char* z = stbi_zlib_compress(raw.data(), int(raw.size()), &zlen, 8);
  // Split the stream over two IDAT chunks, as encoders may.
  const int half = zlen / 2;
  chunk(png, "IDAT", std::vector<uint8_t>(z, z + half));
  chunk(png, "IDAT", std::vector<uint8_t>(z + half, z + zlen));
  free(z);
  chunk(png, "IEND", {});
  return png;
}
LabelMap decode(const std::vector<uint8_t>& png) { return decode_label_png(png.data(), png.size(), "test.png"); }

}  // namespace

// ============================ image lists and VisDA ==========================================

TEST(DatasetVisda, ClassNamesInOfficialOrder) {
  const std::vector<std::string> expected = {"aeroplane", "bicycle", "bus",   "car",        "horse", "knife",
                                             "motorcycle", "person", "plant", "skateboard", "train", "truck"};
  ASSERT_EQ(visda_class_names().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(visda_class_names()[i], expected[i]);
  EXPECT_EQ(kVisdaNumClasses, 12);
}

TEST(DatasetVisda, ParsesAGoodList) {
  TempDir tmp;
  write_text(tmp / "list.txt",
             "aeroplane/a 1.png 0\r\n"
             "\n"
             "  truck/b.png\t11  \n"
             "car/c.png 3");  // no final newline
  auto entries = read_image_list(tmp / "list.txt", "/data/split", 12);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].path, "/data/split/aeroplane/a 1.png");
  EXPECT_EQ(entries[0].label, 0);
  EXPECT_EQ(entries[1].path, "/data/split/truck/b.png");
  EXPECT_EQ(entries[1].label, 11);
  EXPECT_EQ(entries[2].path, "/data/split/car/c.png");
  EXPECT_EQ(entries[2].label, 3);
}

TEST(DatasetVisda, MalformedLinesNameFileAndLine) {
  TempDir tmp;
  const std::string list = tmp / "list.txt";
  write_text(list, "a.png 0\nb.png 1\njustapath.png\n");
  std::string msg = error_of([&] { read_image_list(list, tmp.str(), 12); });
  EXPECT_CONTAINS(msg, list + ":3:");
  EXPECT_CONTAINS(msg, "\"justapath.png\"");

  write_text(list, "a.png 0\nb.png three\n");
  msg = error_of([&] { read_image_list(list, tmp.str(), 12); });
  EXPECT_CONTAINS(msg, list + ":2:");
  EXPECT_CONTAINS(msg, "'three' is not an integer");

  write_text(list, "a.png 3x\n");
  EXPECT_CONTAINS(error_of([&] { read_image_list(list, tmp.str(), 12); }), list + ":1:");

  write_text(list, "\n\n");
  EXPECT_CONTAINS(error_of([&] { read_image_list(list, tmp.str(), 12); }), "no entries");
}

TEST(DatasetVisda, LabelOutOfRangeNamesFileAndLine) {
  TempDir tmp;
  const std::string list = tmp / "list.txt";
  write_text(list, "a.png 0\nb.png 11\nc.png 12\n");
  std::string msg = error_of([&] { read_image_list(list, tmp.str(), 12); });
  EXPECT_CONTAINS(msg, list + ":3:");
  EXPECT_CONTAINS(msg, "outside [0,12)");
  write_text(list, "a.png -1\n");
  msg = error_of([&] { read_image_list(list, tmp.str(), 12); });
  EXPECT_CONTAINS(msg, list + ":1:");
  EXPECT_CONTAINS(msg, "label -1");
}

TEST(DatasetVisda, MissingLayoutPiecesAreNamed) {
  TempDir tmp;
  const std::string root = tmp / "visda";
  // A missing root gets the whole guide: what VisDA-17 is, where it is published, the layout
  // under the path given, and what runs without a download.
  std::string msg = error_of([&] { open_visda(root, "train"); });
  EXPECT_CONTAINS(msg, "VisDA-17 not found: '" + root + "' is not a folder");
  EXPECT_CONTAINS(msg, "http://ai.bu.edu/visda-2017/");
  EXPECT_CONTAINS(msg, root + "/train/image_list.txt");
  EXPECT_CONTAINS(msg, root + "/validation/image_list.txt");
  EXPECT_CONTAINS(msg, "./csg train digits");
  EXPECT_CONTAINS(msg, "./csg make-tiny visda data/visda");

  fs::create_directories(root);
  msg = error_of([&] { open_visda(root, "validation"); });
  EXPECT_CONTAINS(msg, root + "/validation");
  EXPECT_CONTAINS(msg, "does not exist");

  fs::create_directories(root + "/validation");
  msg = error_of([&] { open_visda(root, "validation"); });
  EXPECT_CONTAINS(msg, root + "/validation/image_list.txt");
  EXPECT_CONTAINS(msg, "layout");

  EXPECT_CONTAINS(error_of([&] { read_image_list(tmp / "nope.txt", tmp.str(), 12); }), tmp / "nope.txt");
}

TEST(DatasetVisda, OpensTheTinySetAndLoadsLazily) {
  TempDir tmp;
  write_tiny_visda(tmp.str(), 1, 24, 12);
  auto train = open_visda(tmp.str(), "train");
  auto val = open_visda(tmp.str(), "validation");
  ASSERT_EQ(train->size(), 24);
  ASSERT_EQ(val->size(), 12);
  EXPECT_EQ(train->num_classes(), 12);
  EXPECT_CONTAINS(train->name(), "train");
  for (int64_t i = 0; i < 13; i += 6) {
    Sample s = train->get(i);
    EXPECT_EQ(s.label, i % 12);
    EXPECT_EQ(s.index, i);
    EXPECT_EQ(s.path, tmp.str() + "/train/" + visda_class_names()[i % 12] + "/" + visda_class_names()[i % 12] +
                          "_" + (i < 10 ? "000" : "00") + std::to_string(i) + ".png");
    EXPECT_GE(s.image.width, 36);
    EXPECT_LE(s.image.width, 52);
  }
  Sample v = val->get(5);
  EXPECT_EQ(v.label, 5);
  EXPECT_EQ(fs::path(v.path).extension(), ".jpg");
  EXPECT_EQ(v.image.rgb.size(), size_t(v.image.width) * v.image.height * 3);

  // A listed file that does not exist is only an error when it is loaded.
  write_text(tmp / "train/image_list.txt", "aeroplane/aeroplane_0000.png 0\nbus/missing.png 2\n");
  auto partial = open_visda(tmp.str(), "train");
  ASSERT_EQ(partial->size(), 2);
  EXPECT_NO_THROW(partial->get(0));
  EXPECT_CONTAINS(error_of([&] { partial->get(1); }), tmp / "train/bus/missing.png");
  EXPECT_THROW(partial->get(2), csg::Error);
}

// ============================ the Cityscapes label table =====================================

TEST(LabelTable, EveryIdMapsToItsTrainId) {
  // cityscapesScripts labels.py, written out independently of the implementation's table.
  const std::map<int, int> train_ids = {{7, 0},   {8, 1},   {11, 2},  {12, 3},  {13, 4},  {17, 5},  {19, 6},
                                        {20, 7},  {21, 8},  {22, 9},  {23, 10}, {24, 11}, {25, 12}, {26, 13},
                                        {27, 14}, {28, 15}, {31, 16}, {32, 17}, {33, 18}};
  const auto& table = cityscapes_id_to_train_id();
  for (int id = 0; id < 256; ++id) {
    const auto it = train_ids.find(id);
    EXPECT_EQ(int(table[id]), it == train_ids.end() ? 255 : it->second) << "id " << id;
  }
  for (const auto& [id, train_id] : train_ids) EXPECT_EQ(int(cityscapes_train_id_to_id()[train_id]), id);
  EXPECT_STREQ(cityscapes_class_names()[0], "road");
  EXPECT_STREQ(cityscapes_class_names()[10], "sky");
  EXPECT_STREQ(cityscapes_class_names()[18], "bicycle");
  EXPECT_EQ(kCityscapesNumClasses, 19);
  // The palette carries the Cityscapes colours at the ids' indices.
  const Palette p = cityscapes_palette();
  ASSERT_EQ(p.size(), 256u);
  EXPECT_EQ(p[7], (std::array<uint8_t, 3>{128, 64, 128}));
  EXPECT_EQ(p[26], (std::array<uint8_t, 3>{0, 0, 142}));
  EXPECT_EQ(p[33], (std::array<uint8_t, 3>{119, 11, 32}));
}

TEST(LabelTable, ApplyAndCheckTrainIds) {
  LabelMap m;
  m.width = 3;
  m.height = 2;
  m.values = {7, 26, 0, 33, 255, 6};
  apply_label_table(m, cityscapes_id_to_train_id());
  EXPECT_EQ(m.values, (std::vector<uint8_t>{0, 13, 255, 18, 255, 255}));
  EXPECT_NO_THROW(check_train_ids(m, 19, "m.png"));
  m.values[4] = 26;  // pixel (1,1): an id, not a train id
  const std::string msg = error_of([&] { check_train_ids(m, 19, "m.png"); });
  EXPECT_CONTAINS(msg, "m.png");
  EXPECT_CONTAINS(msg, "(1,1)");
  EXPECT_CONTAINS(msg, "'ids' label encoding");
}

// ============================ label PNGs ======================================================

TEST(LabelPng, PaletteRoundTripKeepsIndicesWhereRgbDecodingLosesThem) {
  TempDir tmp;
  LabelMap m;
  m.width = 37;
  m.height = 11;
  for (int i = 0; i < m.width * m.height; ++i) m.values.push_back(uint8_t((i * 7 + i / 5) % 34));
  write_palette_png(tmp / "l.png", m, cityscapes_palette());
  const LabelMap back = read_label_png(tmp / "l.png");
  EXPECT_EQ(back.width, m.width);
  EXPECT_EQ(back.height, m.height);
  EXPECT_EQ(back.values, m.values);
  // A colour decoder (stb_image, like PIL convert('RGB') or OpenCV) yields the palette colours:
  // neither a channel nor the luminance recovers the ids.
  const image::Image rgb = image::load(tmp / "l.png");
  const Palette palette = cityscapes_palette();
  int channel_matches = 0, luma_matches = 0;
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) {
      const uint8_t* px = rgb.at(x, y);
      const auto& c = palette[m.at(x, y)];
      EXPECT_TRUE(px[0] == c[0] && px[1] == c[1] && px[2] == c[2]);
      channel_matches += px[0] == m.at(x, y);
      luma_matches += int(0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) == m.at(x, y);
    }
  // Only ids 0-4 (black) coincide.
  EXPECT_LT(channel_matches, m.width * m.height / 4);
  EXPECT_LT(luma_matches, m.width * m.height / 4);
  // Values without a palette entry are refused when writing.
  EXPECT_CONTAINS(error_of([&] { write_palette_png(tmp / "x.png", m, Palette(10)); }), "no palette entry");
}

TEST(LabelPng, GreyRoundTrip) {
  TempDir tmp;
  LabelMap m;
  m.width = 19;
  m.height = 23;
  for (int i = 0; i < m.width * m.height; ++i) m.values.push_back(uint8_t((i * i + 3 * i) % 256));
  write_grey_png(tmp / "g.png", m);  // stb's encoder picks per-row filters: the unfilter paths run
  EXPECT_EQ(read_label_png(tmp / "g.png").values, m.values);
}

TEST(LabelPng, HandMadeFiltersBitDepthsAndInterlacing) {
  // 8-bit grey 3x5, rows filtered None, Sub, Up, Average, Paeth. Decoded image:
  //   10 20 30 / 11 22 33 / 12 24 36 / 50 60 70 / 9 200 3
  // Average: x - floor((left + above) / 2). Paeth predicts from a=left, b=above, c=upper-left
  // with p = a + b - c: x0 (0,50,0) -> b; x1 (9,60,50): p=19, |p-a|=10 is least -> a;
  // x2 (200,70,60): p=210 -> a.
  const std::vector<uint8_t> raw = {0, 10, 20, 30,
                                    1, 11, 11, 11,  // Sub: x - left
                                    2, 1, 2, 3,     // Up: x - above
                                    3, uint8_t(50 - 6), uint8_t(60 - 37), uint8_t(70 - 48),
                                    4, uint8_t(9 - 50), uint8_t(200 - 9), uint8_t(3 - 200)};
  LabelMap m = decode(make_png(3, 5, 8, 0, 0, raw));
  EXPECT_EQ(m.values, (std::vector<uint8_t>{10, 20, 30, 11, 22, 33, 12, 24, 36, 50, 60, 70, 9, 200, 3}));

  // 4-bit palette 3x2 (rows padded to whole bytes): 1 2 3 / 15 0 7.
  m = decode(make_png(3, 2, 4, 3, 0, {0, 0x12, 0x30, 0, 0xf0, 0x70}, 16));
  EXPECT_EQ(m.values, (std::vector<uint8_t>{1, 2, 3, 15, 0, 7}));
  // 2-bit grey 5x1 and 1-bit grey 9x1.
  m = decode(make_png(5, 1, 2, 0, 0, {0, 0b00011011, 0b10000000}));
  EXPECT_EQ(m.values, (std::vector<uint8_t>{0, 1, 2, 3, 2}));
  m = decode(make_png(9, 1, 1, 0, 0, {0, 0b10110001, 0b10000000}));
  EXPECT_EQ(m.values, (std::vector<uint8_t>{1, 0, 1, 1, 0, 0, 0, 1, 1}));

  // Adam7, 8-bit palette 3x3 with value 10*y + x. Non-empty passes of a 3x3 image (PNG spec):
  // 1: (0,0)  4: (2,0)  5: (0,2),(2,2)  6: (1,0),(1,2)  7: row 1.
  m = decode(make_png(3, 3, 8, 3, 1, {0, 0, 0, 2, 0, 20, 22, 0, 1, 0, 21, 0, 10, 11, 12}, 23));
  EXPECT_EQ(m.values, (std::vector<uint8_t>{0, 1, 2, 10, 11, 12, 20, 21, 22}));
}

TEST(LabelPng, RefusesWhatIsNotAnIndexImage) {
  TempDir tmp;
  image::Image rgb;
  rgb.width = 4;
  rgb.height = 2;
  rgb.rgb.assign(24, 7);
  image::save_png(tmp / "rgb.png", rgb);
  std::string msg = error_of([&] { read_label_png(tmp / "rgb.png"); });
  EXPECT_CONTAINS(msg, tmp / "rgb.png");
  EXPECT_CONTAINS(msg, "colour type 2 (RGB)");

  EXPECT_CONTAINS(error_of([&] { read_label_png(tmp / "none.png"); }), "cannot open");
  write_text(tmp / "text.png", "hello, not a png");
  EXPECT_CONTAINS(error_of([&] { read_label_png(tmp / "text.png"); }), "not a PNG");

  LabelMap m;
  m.width = m.height = 8;
  m.values.assign(64, 3);
  write_palette_png(tmp / "p.png", m, cityscapes_palette());
  std::vector<uint8_t> bytes = read_bytes(tmp / "p.png");
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + bytes.size() / 2);
  EXPECT_CONTAINS(error_of([&] { decode_label_png(truncated.data(), truncated.size(), "t.png"); }), "t.png");
  std::vector<uint8_t> flipped = bytes;
  flipped[bytes.size() - 20] ^= 0x55;  // inside IDAT
  EXPECT_CONTAINS(error_of([&] { decode_label_png(flipped.data(), flipped.size(), "f.png"); }), "CRC");
  // 16-bit grey is refused by depth.
  EXPECT_CONTAINS(error_of([&] { decode(make_png(1, 1, 16, 0, 0, {0, 1, 2})); }), "16-bit");
}

// ============================ GTA5 and Cityscapes ============================================

TEST(DatasetGta5, PairsImagesWithPaletteLabelsMappedToTrainIds) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 3, 4, 3);
  auto gta = open_gta5(tmp / "gta5");
  ASSERT_EQ(gta->size(), 4);
  EXPECT_EQ(gta->num_classes(), 19);
  EXPECT_EQ(gta->pairs()[0].image, tmp / "gta5/images/00001.png");
  EXPECT_EQ(gta->pairs()[3].label, tmp / "gta5/labels/00004.png");
  std::set<int> seen;
  for (int64_t i = 0; i < gta->size(); ++i) {
    Sample s = gta->get(i);
    EXPECT_EQ(s.label, -1);
    ASSERT_EQ(s.label_map.width, s.image.width);
    ASSERT_EQ(s.label_map.height, s.image.height);
    const LabelMap ids = read_label_png(gta->pairs()[size_t(i)].label);
    for (size_t k = 0; k < ids.values.size(); ++k) {
      EXPECT_EQ(s.label_map.values[k], cityscapes_id_to_train_id()[ids.values[k]]);
      seen.insert(s.label_map.values[k]);
    }
  }
  // road, sidewalk, building, pole, sign, vegetation, sky, person, car and the ignore label.
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 5, 7, 8, 10, 11, 13, 255}));
}

TEST(DatasetGta5, LayoutErrors) {
  TempDir tmp;
  const std::string missing = error_of([&] { open_gta5(tmp / "gta5"); });
  EXPECT_CONTAINS(missing, "GTA5 not found: '" + tmp / "gta5" + "' is not a folder");
  EXPECT_CONTAINS(missing, "https://download.visinf.tu-darmstadt.de/data/from_games/");
  EXPECT_CONTAINS(missing, tmp / "gta5" + "/images/NNNNN.png");
  EXPECT_CONTAINS(missing, "./csg make-tiny gta5 data");
  const std::string city = error_of([&] { open_cityscapes(tmp / "cityscapes", "val"); });
  EXPECT_CONTAINS(city, "Cityscapes not found");
  EXPECT_CONTAINS(city, "https://www.cityscapes-dataset.com/");
  EXPECT_CONTAINS(city, tmp / "cityscapes" + "/gtFine/val/<city>/<name>_gtFine_labelIds.png");
  write_tiny_gta5_cityscapes(tmp.str(), 3, 3, 1);
  fs::remove(tmp / "gta5/labels/00002.png");
  const std::string msg = error_of([&] { open_gta5(tmp / "gta5"); });
  EXPECT_CONTAINS(msg, "1 of 3 images have no label");
  EXPECT_CONTAINS(msg, tmp / "gta5/labels/00002.png");
  // An image and label of different sizes fail when loaded, naming both.
  fs::copy_file(tmp / "cityscapes/gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_labelIds.png",
                tmp / "gta5/labels/00002.png");
  auto gta = open_gta5(tmp / "gta5");
  const std::string size_msg = error_of([&] { gta->get(1); });
  EXPECT_CONTAINS(size_msg, "00002.png: image is 64x35 but its label");
  EXPECT_CONTAINS(size_msg, "is 64x32");
}

// --train-list: the split the reference trains on (one name per line, relative to images/).
TEST(DatasetGta5, TrainListRestrictsTheSetInListOrder) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 3, 5, 1);
  // A bare name, the reference's "images/<name> labels/<name>" line, a blank line.
  write_text(tmp / "split.txt", "00004.png\n\nimages/00002.png labels/00002.png\r\n");
  auto gta = open_gta5(tmp / "gta5", tmp / "split.txt");
  ASSERT_EQ(gta->size(), 2);
  EXPECT_EQ(gta->pairs()[0].image, tmp / "gta5/images/00004.png");
  EXPECT_EQ(gta->pairs()[1].image, tmp / "gta5/images/00002.png");
  EXPECT_EQ(gta->pairs()[1].label, tmp / "gta5/labels/00002.png");
  EXPECT_EQ(gta->get(1).label_map.width, gta->get(1).image.width);
}

TEST(DatasetGta5, TrainListErrorsNameTheFileLineAndFix) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 3, 3, 1);
  std::string msg = error_of([&] { open_gta5(tmp / "gta5", tmp / "no_such_split.txt"); });
  EXPECT_CONTAINS(msg, tmp / "no_such_split.txt");
  EXPECT_CONTAINS(msg, "no such file");
  EXPECT_CONTAINS(msg, "leave --train-list out");

  write_text(tmp / "split.txt", "00001.png\n00009.png\n");
  msg = error_of([&] { open_gta5(tmp / "gta5", tmp / "split.txt"); });
  EXPECT_CONTAINS(msg, tmp / "split.txt" + ":2: '00009.png' is not in " + tmp / "gta5/images");
  EXPECT_CONTAINS(msg, "check --data");

  fs::remove(tmp / "gta5/labels/00003.png");
  write_text(tmp / "split.txt", "00001.png\n\n00003.png\n");
  msg = error_of([&] { open_gta5(tmp / "gta5", tmp / "split.txt"); });
  EXPECT_CONTAINS(msg, tmp / "split.txt" + ":3: '00003.png' has no label " + tmp / "gta5/labels/00003.png");

  write_text(tmp / "empty.txt", "\n \n");
  EXPECT_CONTAINS(error_of([&] { open_gta5(tmp / "gta5", tmp / "empty.txt"); }), "names no image");
}

TEST(DatasetCityscapes, DiscoversImagesAndLabelsByWalkingTheTree) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 5, 1, 5);
  const std::string root = tmp / "cityscapes";
  auto cs = open_cityscapes(root, "val");
  ASSERT_EQ(cs->size(), 5);
  // Sorted by path: frankfurt (i = 0, 3), lindau (1, 4), munster (2).
  EXPECT_EQ(cs->pairs()[0].image, root + "/leftImg8bit/val/frankfurt/frankfurt_000000_000019_leftImg8bit.png");
  EXPECT_EQ(cs->pairs()[0].label, root + "/gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_labelIds.png");
  EXPECT_EQ(cs->pairs()[1].image, root + "/leftImg8bit/val/frankfurt/frankfurt_000000_000076_leftImg8bit.png");
  EXPECT_EQ(cs->pairs()[4].image, root + "/leftImg8bit/val/munster/munster_000000_000057_leftImg8bit.png");
  for (const auto& p : cs->pairs()) EXPECT_EQ(p.encoding, LabelEncoding::Ids);
  Sample s = cs->get(0);
  const LabelMap ids = read_label_png(cs->pairs()[0].label);
  EXPECT_EQ(ids.values.back(), 1);                      // ego vehicle id ...
  EXPECT_EQ(s.label_map.values.back(), kIgnoreLabel);  // ... is ignored

  // A train-id file next to it is preferred in Auto mode and required in TrainIds mode.
  const std::string stem = root + "/gtFine/val/lindau/lindau_000000_000038_gtFine_";
  LabelMap train_ids = read_label_png(stem + "labelIds.png");
  apply_label_table(train_ids, cityscapes_id_to_train_id());
  write_grey_png(stem + "labelTrainIds.png", train_ids);
  auto cs_auto = open_cityscapes(root, "val");
  EXPECT_EQ(cs_auto->pairs()[2].label, stem + "labelTrainIds.png");
  EXPECT_EQ(cs_auto->pairs()[2].encoding, LabelEncoding::TrainIds);
  EXPECT_EQ(cs_auto->get(2).label_map.values, cs->get(2).label_map.values);
  EXPECT_EQ(open_cityscapes(root, "val", CityscapesLabels::Ids)->pairs()[2].encoding, LabelEncoding::Ids);
  const std::string msg = error_of([&] { open_cityscapes(root, "val", CityscapesLabels::TrainIds); });
  EXPECT_CONTAINS(msg, "4 of 5 images have no _gtFine_labelTrainIds.png");
  EXPECT_CONTAINS(msg, "createTrainIdLabelImgs.py");
  EXPECT_CONTAINS(error_of([&] { open_cityscapes(root, "train"); }), root + "/leftImg8bit/train");
}

TEST(DatasetCityscapes, ReadsTheReferenceListFormat) {
  TempDir tmp;
  write_tiny_gta5_cityscapes(tmp.str(), 5, 1, 2);
  const std::string root = tmp / "cityscapes";
  auto walked = open_cityscapes(root, "val");
  // cityscapes_val_fine.txt style: leftImg8bit/... gtFine/..._labelTrainIds.png
  std::string list;
  for (const auto& p : walked->pairs()) {
    const std::string img = fs::path(p.image).lexically_relative(root).string();
    std::string lbl = fs::path(p.label).lexically_relative(root).string();
    lbl.replace(lbl.find("labelIds"), 8, "labelTrainIds");
    LabelMap m = read_label_png(p.label);
    apply_label_table(m, cityscapes_id_to_train_id());
    write_grey_png(root + "/" + lbl, m);
    list += img + " " + lbl + "\n";
  }
  write_text(tmp / "val.txt", list);
  auto listed = open_segmentation_list(tmp / "val.txt", root, LabelEncoding::Ids, "Cityscapes val");
  ASSERT_EQ(listed->size(), 2);
  EXPECT_EQ(listed->pairs()[1].encoding, LabelEncoding::TrainIds);
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_EQ(listed->get(i).label_map.values, walked->get(i).label_map.values);
    EXPECT_EQ(listed->get(i).image.rgb, walked->get(i).image.rgb);
  }
  // The encoding follows the label's name; a "train id" file that holds ids is caught on load.
  const std::string ids_rel = fs::path(walked->pairs()[0].label).lexically_relative(root).string();
  const std::string fake_rel = ids_rel.substr(0, ids_rel.size() - 12) + "fake_labelTrainIds.png";
  fs::copy_file(root + "/" + ids_rel, root + "/" + fake_rel);
  const std::string img0 = fs::path(walked->pairs()[0].image).lexically_relative(root).string();
  write_text(tmp / "more.txt", list + img0 + " " + ids_rel + "\n" + img0 + " " + fake_rel + "\n");
  auto more = open_segmentation_list(tmp / "more.txt", root, LabelEncoding::TrainIds);
  EXPECT_EQ(more->pairs()[2].encoding, LabelEncoding::Ids);
  EXPECT_EQ(more->get(2).label_map.values, walked->get(0).label_map.values);
  EXPECT_EQ(more->pairs()[3].encoding, LabelEncoding::TrainIds);
  EXPECT_CONTAINS(error_of([&] { more->get(3); }), "which is not a train id");
  write_text(tmp / "bad2.txt", list + "a.png\n");
  const std::string msg = error_of([&] { open_segmentation_list(tmp / "bad2.txt", root, LabelEncoding::Ids); });
  EXPECT_CONTAINS(msg, tmp / "bad2.txt" + ":3:");
  EXPECT_CONTAINS(msg, "\"a.png\"");
}

// ============================ tiny data sets ==================================================

TEST(TinyDatasets, DeterministicInTheSeed) {
  TempDir tmp;
  write_tiny_visda(tmp / "a", 11, 14, 13);
  write_tiny_visda(tmp / "b", 11, 14, 13);
  write_tiny_visda(tmp / "c", 12, 14, 13);
  write_tiny_gta5_cityscapes(tmp / "a", 11, 2, 2);
  write_tiny_gta5_cityscapes(tmp / "b", 11, 2, 2);
  write_tiny_gta5_cityscapes(tmp / "c", 12, 2, 2);
  int files = 0, differ_c = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "a")) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::path(e.path()).lexically_relative(tmp / "a").string();
    ++files;
    EXPECT_EQ(read_bytes(e.path().string()), read_bytes(tmp / ("b/" + rel))) << rel;
    differ_c += read_bytes(e.path().string()) != read_bytes(tmp / ("c/" + rel));
  }
  EXPECT_EQ(files, 14 + 13 + 2 + 2 * 2 + 2 * 2);
  EXPECT_EQ(differ_c, files - 2);  // all but the two image lists
}

TEST(TinyDatasets, VisdaClassesAreShapesInColoursAndDomainsDiffer) {
  TempDir tmp;
  write_tiny_visda(tmp.str(), 2, 12, 12);
  auto train = open_visda(tmp.str(), "train");
  auto val = open_visda(tmp.str(), "validation");
  // Every class once per split, filed under its name.
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(train->entries()[size_t(i)].label, i);
    EXPECT_EQ(fs::path(train->entries()[size_t(i)].path).parent_path().filename(), visda_class_names()[i]);
  }
  // Corner pixels are background: flat light grey in renderings, varied in photos.
  auto corner_spread = [](const Dataset& d) {
    double spread = 0;
    for (int64_t i = 0; i < d.size(); ++i) {
      const image::Image im = d.get(i).image;
      const uint8_t* a = im.at(0, 0);
      const uint8_t* b = im.at(1, 0);
      for (int c = 0; c < 3; ++c) spread += std::abs(int(a[c]) - int(b[c])) + std::abs(int(a[c]) - int(a[0]));
    }
    return spread / d.size();
  };
  EXPECT_LT(corner_spread(*train), 15);
  EXPECT_GT(corner_spread(*val), 25);
  // The shape's colour dominates the rendered image's saturated pixels: red, green, blue by class / 4.
  for (int64_t i = 0; i < 12; ++i) {
    const image::Image im = train->get(i).image;
    long sums[3] = {0, 0, 0};
    for (int y = 0; y < im.height; ++y)
      for (int x = 0; x < im.width; ++x) {
        const uint8_t* p = im.at(x, y);
        if (std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) > 60)
          for (int c = 0; c < 3; ++c) sums[c] += p[c];
      }
    EXPECT_EQ(std::max_element(sums, sums + 3) - sums, i / 4) << "class " << i;
  }
}
