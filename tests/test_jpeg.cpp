// tests/test_jpeg.cpp — JPEG decoding through libjpeg-turbo against PIL's decode of the same
// files (fixtures from tools/reference/make_jpeg_fixtures.py: <name>.jpg and PIL's pixels of it
// as <name>.png), the errors for damaged files, and the stb_image fallback.
#include <fstream>
#include <iterator>

#include "csg/image.h"
#include "tests/testing.h"

using namespace csg;
namespace img = csg::image;

namespace {

const std::string kDir = "data/fixtures/jpeg/";

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Largest |a - b| over all bytes; 256 when the sizes differ.
int max_byte_diff(const img::Image& a, const img::Image& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size()) return 256;
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}

// load(path) must throw a csg::Error whose message names the file and contains `word`.
void expect_load_error(const std::string& path, const std::string& word) {
  try {
    img::load(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(word), std::string::npos) << m;
  }
}

}  // namespace

TEST(Jpeg, PixelsEqualPil) {
  CSG_REQUIRE_LIBJPEG();
  ASSERT_EQ(img::jpeg_decoder(), img::JpegDecoder::LibjpegTurbo);
  for (const char* name : {"ycc420", "ycc422", "ycc444", "grey", "progressive", "odd_37x29", "cmyk", "corrupt_scan"}) {
    SCOPED_TRACE(name);
    img::Image ours = img::load(kDir + name + ".jpg"), pil = img::load(kDir + name + ".png");
    ASSERT_GT(pil.width, 0);
    EXPECT_EQ(max_byte_diff(ours, pil), 0);
  }
  EXPECT_EQ(img::load(kDir + "odd_37x29.jpg").width, 37);
  EXPECT_EQ(img::load(kDir + "odd_37x29.jpg").height, 29);
}

TEST(Jpeg, TruncatedFilesAreErrorsNamingThem) {
  // PIL raises "image file is truncated" for any cut, even of the last byte of EOI.
  CSG_REQUIRE_LIBJPEG();
  csg::testing::TempDir tmp;
  for (const char* name : {"ycc420", "progressive"}) {
    const std::string bytes = read_bytes(kDir + name + ".jpg");
    for (size_t keep : {bytes.size() - 1, bytes.size() - 2, bytes.size() / 2, size_t(700)}) {
      const std::string path = tmp / (std::string(name) + "_" + std::to_string(keep) + ".jpg");
      write_bytes(path, bytes.substr(0, keep));
      SCOPED_TRACE(path);
      expect_load_error(path, "truncated JPEG");
    }
  }
}

TEST(Jpeg, CorruptFilesAreErrorsNamingThem) {
  CSG_REQUIRE_LIBJPEG();
  csg::testing::TempDir tmp;
  const std::string bytes = read_bytes(kDir + "ycc444.jpg");
  // A frame header (SOF0) claiming 0x0 pixels.
  std::string zero = bytes;
  const size_t sof = zero.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  zero.replace(sof + 5, 4, std::string(4, '\0'));
  write_bytes(tmp / "zero_size.jpg", zero);
  expect_load_error(tmp / "zero_size.jpg", "corrupt JPEG");
  // A complete file whose first Huffman table counts 16 x 255 codes (at most 256 exist).
  std::string huffman = bytes;
  const size_t dht = huffman.find("\xFF\xC4");
  ASSERT_NE(dht, std::string::npos);
  huffman.replace(dht + 5, 16, std::string(16, '\xFF'));
  write_bytes(tmp / "bad_huffman.jpg", huffman);
  expect_load_error(tmp / "bad_huffman.jpg", "corrupt JPEG (Bogus Huffman table definition)");
  // Files that end inside their header are truncated and corrupt at once: an APP0 segment whose
  // length (ASCII "th") runs past the end, and the fuzzer's 9-byte DHT finding against stb_image.
  write_bytes(tmp / "junk.jpg", std::string("\xFF\xD8\xFF\xE0") + "this is not a JPEG header at all");
  expect_load_error(tmp / "junk.jpg", "incomplete or corrupt");
  expect_load_error("data/fixtures/fuzz/stb_jpeg_dht_over_256_codes.jpg", "incomplete or corrupt");
}

TEST(Jpeg, PixelLimitIsCheckedBeforeDecoding) {
  CSG_REQUIRE_LIBJPEG();
  try {
    img::load(kDir + "ycc420.jpg", /*max_pixels=*/64 * 48 - 1);
    ADD_FAILURE() << "pixel limit not enforced";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("64x48 pixels exceeds the limit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(img::load(kDir + "ycc420.jpg", 64 * 48).width, 64);
}

TEST(Jpeg, ProgressiveFileWithTooManyScansIsRefused) {
  // The last scan of progressive.jpg repeated 1,000 more times: libjpeg only warns about the
  // repeated progression (ignored, as PIL does), so the scan limit is what stops it.
  CSG_REQUIRE_LIBJPEG();
  const std::string bytes = read_bytes(kDir + "progressive.jpg");
  const size_t last_sos = bytes.rfind("\xFF\xDA");
  ASSERT_NE(last_sos, std::string::npos);
  const std::string scan = bytes.substr(last_sos, bytes.size() - 2 - last_sos);  // up to EOI
  std::string many = bytes.substr(0, bytes.size() - 2);
  for (int i = 0; i < 1000; ++i) many += scan;
  many += "\xFF\xD9";
  csg::testing::TempDir tmp;
  const std::string path = tmp / "many_scans.jpg";
  write_bytes(path, many);
  expect_load_error(path, "more than 1000 progressive scans");
}

TEST(Jpeg, StbFallbackDecodesJpegCloseToPil) {
  // The JPEG=0 path, also reachable at run time. stb_image has its own IDCT and chroma
  // upsampling: a few levels from PIL, never the same bytes on 4:2:0 (that is why
  // libjpeg-turbo decodes JPEG when available).
  csg::testing::JpegDecoderScope stb(img::JpegDecoder::Stb);
  for (const char* name : {"ycc420", "ycc444", "grey", "progressive", "odd_37x29"}) {
    SCOPED_TRACE(name);
    const std::string bytes = read_bytes(kDir + name + ".jpg");
    img::Image ours = img::load(kDir + name + ".jpg"), pil = img::load(kDir + name + ".png");
    const int diff = max_byte_diff(ours, pil);
    EXPECT_LE(diff, 16);
    EXPECT_EQ(max_byte_diff(ours, img::decode_with_stb(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                                       name, img::kDefaultMaxPixels)),
              0);
  }
  EXPECT_GT(max_byte_diff(img::load(kDir + "ycc420.jpg"), img::load(kDir + "ycc420.png")), 0);
}

TEST(Jpeg, DecoderChoiceWithoutLibjpegIsAnError) {
  if (img::have_libjpeg_turbo()) {
    csg::testing::JpegDecoderScope lib(img::JpegDecoder::LibjpegTurbo);
    EXPECT_EQ(img::jpeg_decoder(), img::JpegDecoder::LibjpegTurbo);
    return;
  }
  EXPECT_EQ(img::jpeg_decoder(), img::JpegDecoder::Stb);
  try {
    img::set_jpeg_decoder(img::JpegDecoder::LibjpegTurbo);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("libjpeg62-turbo-dev"), std::string::npos) << e.what();
  }
}
