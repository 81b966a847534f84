// tests/test_image.cpp — decoding and torchvision-exact preprocessing, against PIL's output
// (fixtures from tools/reference/make_image_fixtures.py, PNGs compared byte for byte).
#include <cstdio>
#include <fstream>

#include <stb/stb_image_write.h>

#include "csg/image.h"
#include "tests/testing.h"

using namespace csg;
namespace img = csg::image;

namespace {
const std::string kDir = "data/fixtures/image/";

int max_byte_diff(const img::Image& a, const img::Image& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.rgb.size() != b.rgb.size()) return 256;
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}
}  // namespace

TEST(Image, ResizeMatchesPilExactly) {
  img::Image src = img::load(kDir + "source.png");
  ASSERT_EQ(src.width, 53);
  ASSERT_EQ(src.height, 37);
  EXPECT_EQ(max_byte_diff(img::resize_bilinear(src, 20, 15), img::load(kDir + "resize_20x15.png")), 0);
  EXPECT_EQ(max_byte_diff(img::resize_bilinear(src, 80, 61), img::load(kDir + "resize_80x61.png")), 0);
  EXPECT_EQ(max_byte_diff(img::resize_bilinear(src, 53, 12), img::load(kDir + "resize_53x12.png")), 0);
}

TEST(Image, TorchvisionResizeAndCenterCrop) {
  img::Image src = img::load(kDir + "source.png");
  EXPECT_EQ(max_byte_diff(img::center_crop(img::resize_shorter_side(src, 24), 24, 24),
                          img::load(kDir + "resize24_crop24.png")), 0);
  EXPECT_EQ(max_byte_diff(img::center_crop(img::resize_shorter_side(src, 30), 17, 17),
                          img::load(kDir + "resize30_crop17.png")), 0);
  img::Image r = img::resize_shorter_side(src, 24);
  EXPECT_EQ(r.height, 24);
  EXPECT_EQ(r.width, 24 * 53 / 37);  // int(24 * long / short)
}

TEST(Image, ToTensorNormalises) {
  img::Image im;
  im.width = 2;
  im.height = 1;
  im.rgb = {0, 128, 255, 10, 20, 30};
  Tensor t = img::to_tensor(im);
  ASSERT_EQ(t.shape(), (Shape{3, 1, 2}));
  std::vector<float> v = t.to_float_vector();
  EXPECT_FLOAT_EQ(v[0], (0.f / 255.f - 0.485f) / 0.229f);   // R of pixel 0
  EXPECT_FLOAT_EQ(v[2], (128.f / 255.f - 0.456f) / 0.224f); // G of pixel 0
  EXPECT_FLOAT_EQ(v[5], (30.f / 255.f - 0.406f) / 0.225f);  // B of pixel 1
}

TEST(Image, BadFilesGiveErrorsNamingThem) {
  csg::testing::TempDir tmp;
  auto expect_error = [](const std::string& path, const std::string& word) {
    try {
      img::load(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(path), std::string::npos) << m;
      EXPECT_NE(m.find(word), std::string::npos) << m;
    }
  };
  expect_error("/nonexistent/picture.png", "cannot open");
  const std::string junk = tmp / "junk.png";
  { std::ofstream(junk) << "this is not an image"; }
  expect_error(junk, "corrupt");
  // A PNG cut in half: the header decodes, the pixels do not.
  std::ifstream f(kDir + "source.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::string cut = tmp / "cut.png";
  { std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2); }
  expect_error(cut, "corrupt");
  try {
    img::load(kDir + "source.png", /*max_pixels=*/100);
    ADD_FAILURE() << "pixel limit not enforced";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the limit"), std::string::npos) << e.what();
  }
}

TEST(Image, CorruptJpegHuffmanTableIsRefused) {
  // Fuzzer finding (data/fixtures/fuzz/stb_jpeg_dht_over_256_codes.jpg): a DHT segment whose
  // code counts exceed 256 made stb_image write past its tables.
  try {
    img::load("data/fixtures/fuzz/stb_jpeg_dht_over_256_codes.jpg");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
}

TEST(Image, ValidJpegsStillDecode) {
  // JPEGs written by stb_image_write (baseline) and the tiny VisDA generator pass the check.
  csg::testing::TempDir tmp;
  img::Image src = img::load(kDir + "source.png");
  const std::string path = tmp / "ok.jpg";
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), src.width, src.height, 3, src.rgb.data(), 90));
  img::Image back = img::load(path);
  EXPECT_EQ(back.width, src.width);
  EXPECT_EQ(back.height, src.height);
}
