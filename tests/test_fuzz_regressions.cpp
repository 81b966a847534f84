// tests/test_fuzz_regressions.cpp — inputs the fuzzers found (data/fixtures/fuzz/, see its
// README), each now refused with a csg::Error instead of misbehaving.
#include <fstream>
#include <iterator>

#include "csg/image.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::error_of;

namespace {
std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST(FuzzRegressions, SelfAppendingPickleListIsRefused) {
  // PROTO 2, EMPTY_LIST, BINPUT 0, MARK, DUP, APPENDS: a list appended to itself leaked
  // (a shared_ptr cycle).
  const std::string path = "data/fixtures/fuzz/pickle_self_appending_list.pkl";
  std::vector<uint8_t> bytes = read_all(path);
  ASSERT_FALSE(bytes.empty()) << path;
  std::string e = error_of([&] { io::pickle::unpickle(bytes.data(), bytes.size(), path); });
  EXPECT_NE(e.find("cycle"), std::string::npos) << e;
}

TEST(FuzzRegressions, JpegWithOversizedHuffmanTableIsRefused) {
  // 9 bytes (FFD8 FFC4 ...): code counts over 256 made stb_image write past its tables; the
  // structural pre-check refuses them on the stb path (JPEG=0 builds, JpegDecoder::Stb).
  const std::string over = "data/fixtures/fuzz/stb_jpeg_dht_over_256_codes.jpg",
                    fill = "data/fixtures/fuzz/stb_jpeg_dht_after_fill_bytes.jpg";
  {
    csg::testing::JpegDecoderScope stb(image::JpegDecoder::Stb);
    std::string e = error_of([&] { image::load(over); });
    EXPECT_NE(e.find("corrupt JPEG ("), std::string::npos) << e;
  }
  // libjpeg-turbo (the default where built) refuses the file too.
  std::string e = error_of([&] { image::load(over); });
  EXPECT_NE(e.find(over), std::string::npos) << e;
  // The same kind of table behind a run of 0xFF fill bytes, which stb skips before the SOI
  // marker (no JPEG to libjpeg or PIL, so it always goes to stb_image).
  e = error_of([&] { image::load(fill); });
  EXPECT_NE(e.find("corrupt JPEG (Huffman table with"), std::string::npos) << e;
}

TEST(FuzzRegressions, JpegScanWithUndefinedHuffmanTableIsRefused) {
  // A progressive JPEG whose last scan uses AC table 1, which no DHT segment defines: stb_image
  // decoded it with an uninitialised table (UBSan, index past maxcode[18] at stb_image.h:2102,
  // depending on the heap's previous contents). The stb path's pre-check refuses it; libjpeg
  // (and PIL, "broken data stream") refuse it too.
  const std::string path = "data/fixtures/fuzz/stb_jpeg_undefined_huffman_table.jpg";
  {
    csg::testing::JpegDecoderScope stb(image::JpegDecoder::Stb);
    std::string e = error_of([&] { image::load(path); });
    EXPECT_NE(e.find("AC Huffman table 1, which no DHT segment defines"), std::string::npos) << e;
  }
  std::string e = error_of([&] { image::load(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
}

TEST(FuzzRegressions, PngWithEmptyIdatChunk) {
  // Signature, IHDR, then an IDAT of length 0 and the end of the file: stb_image memcpy'd zero
  // bytes to a NULL buffer (UBSan nonnull-attribute, suppressed for stbi__getn alone; under
  // `make asan` any other report here still fails). No image data: a clear error.
  std::string e = error_of([] { image::load("data/fixtures/fuzz/stb_png_empty_idat.png"); });
  EXPECT_NE(e.find("stb_png_empty_idat.png"), std::string::npos) << e;

  // A zero-length IDAT is legal PNG: one before the real data must not change the pixels.
  csg::testing::TempDir dir;
  image::Image im;
  im.width = 3;
  im.height = 2;
  for (int i = 0; i < 18; ++i) im.rgb.push_back(static_cast<uint8_t>(i * 13));
  image::save_png(dir / "a.png", im);
  std::vector<uint8_t> png = read_all(dir / "a.png");
  size_t at = 8;  // chunks after the signature: length (big-endian), type, data, CRC
  while (at + 8 <= png.size() && std::string(png.begin() + at + 4, png.begin() + at + 8) != "IDAT")
    at += 12 + (size_t(png[at]) << 24 | size_t(png[at + 1]) << 16 | size_t(png[at + 2]) << 8 | png[at + 3]);
  ASSERT_LT(at + 8, png.size()) << "no IDAT chunk in the PNG we wrote";
  const uint8_t type[4] = {'I', 'D', 'A', 'T'};
  const uint32_t crc = io::crc32(type, 4);
  const std::vector<uint8_t> empty = {0, 0, 0, 0, 'I', 'D', 'A', 'T', uint8_t(crc >> 24), uint8_t(crc >> 16),
                                      uint8_t(crc >> 8), uint8_t(crc)};
  png.insert(png.begin() + at, empty.begin(), empty.end());
  image::Image back = image::decode(png.data(), png.size(), "empty-idat.png");
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.height, 2);
  EXPECT_EQ(back.rgb, im.rgb);
}

TEST(FuzzRegressions, PnmIsNotDecoded) {
  // "P5" and a width of eleven 2s: stb_image's PNM header parser overflowed a signed int
  // (UBSan). csg leaves stb's PNM reader out (no data set uses it), so this is not an image.
  std::string e = error_of([] { image::load("data/fixtures/fuzz/stb_pnm_width_overflow.pgm"); });
  EXPECT_NE(e.find("not a decodable image"), std::string::npos) << e;
  // A well-formed 1x1 PGM is refused the same way: the reader is out, not just this input.
  const std::string pgm = std::string("P5\n1 1\n255\n") + '\x7f';
  e = error_of([&] { image::decode(reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size(), "one.pgm"); });
  EXPECT_NE(e.find("not a decodable image"), std::string::npos) << e;
}

TEST(FuzzRegressions, HeaderSizeWhoseProductOverflowsIsRefused) {
  // A Photoshop header of 4294967295x4294967295: the pixel count overflowed 64 bits (UBSan)
  // before it was compared with the limit. Now it is refused as over the limit.
  const std::string path = "data/fixtures/fuzz/psd_size_overflow.psd";
  std::vector<uint8_t> bytes = read_all(path);
  ASSERT_EQ(bytes.size(), 26u) << path;
  std::string e = error_of([&] { image::decode(bytes.data(), bytes.size(), path); });
  EXPECT_NE(e.find("4294967295x4294967295 pixels exceeds the limit"), std::string::npos) << e;
  e = error_of([&] { image::read_image_size(path); });
  EXPECT_NE(e.find("exceeds the limit"), std::string::npos) << e;
  // Just under the limit on one side and far over on the other is refused too, not wrapped.
  e = error_of([&] { image::check_pixel_limit("x", int64_t{1} << 40, int64_t{1} << 40, 100); });
  EXPECT_NE(e.find("exceeds the limit"), std::string::npos) << e;
  EXPECT_TRUE(error_of([] { image::check_pixel_limit("x", 10, 10, 100); }).empty());
}

TEST(FuzzRegressions, BmpWithNegativeSizesIsNotDecodable) {
  // A BMP header whose width and height are negative int32s: their product overflowed (UBSan) in the
  // message that explains stb_image's refusal. Now it is a plain refusal.
  const std::string path = "data/fixtures/fuzz/bmp_negative_width.bmp";
  std::vector<uint8_t> bytes = read_all(path);
  ASSERT_EQ(bytes.size(), 76u) << path;
  const std::string e = error_of([&] { image::decode(bytes.data(), bytes.size(), path); });
  EXPECT_NE(e.find("not a decodable image"), std::string::npos) << e;
}

TEST(FuzzRegressions, PngChunkLongerThanTheFileIsRefusedBeforeDecoding) {
  // A chunk declaring 1.19e9 bytes in a 210-byte file: stb_image reallocated 2 GiB for it.
  const std::string path = "data/fixtures/fuzz/stb_png_idat_length_past_end.png";
  std::vector<uint8_t> bytes = read_all(path);
  ASSERT_EQ(bytes.size(), 210u) << path;
  const std::string e = error_of([&] { image::decode(bytes.data(), bytes.size(), path); });
  EXPECT_NE(e.find("corrupt PNG (chunk 'IDAT' at byte 98 declares 1191182389 bytes of data but only 104 bytes"),
            std::string::npos)
      << e;
  // A valid PNG still decodes: the check walks its chunks and lets it through.
  image::Image im;
  im.width = 3, im.height = 2, im.rgb = std::vector<uint8_t>(18, 7);
  csg::testing::TempDir tmp;
  image::save_png(tmp / "ok.png", im);
  const image::Image back = image::load(tmp / "ok.png");
  EXPECT_EQ(back.rgb, im.rgb);
}
