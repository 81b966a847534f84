// tests/test_input_limits.cpp — what one image may cost: its size read from the header of every
// format, the pixel limit applied there (a 20000 x 20000 PNG is refused for its size, not as an
// "unknown image type"), and the limit as a setting of predict, eval, train and the C API.
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "csg/c_api.h"
#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/image.h"
#include "csg/infer.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

using namespace csg;
using csg::testing::CliResult;
using csg::testing::run_cli_captured;

namespace {

using csg::testing::contains;

void put_be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put_le(std::string& s, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

std::string png_chunk(const std::string& type, const std::string& data) {
  std::string c;
  put_be32(c, static_cast<uint32_t>(data.size()));
  c += type + data;
  put_be32(c, static_cast<uint32_t>(crc32(crc32(0, reinterpret_cast<const Bytef*>(type.data()), 4),
                                          reinterpret_cast<const Bytef*>(data.data()), data.size())));
  return c;
}

// A valid PNG header of any size (8-bit RGB) followed by a few rows' worth of pixel data: what a
// decompression bomb looks like to a reader before it decodes.
std::string png_of_size(uint32_t w, uint32_t h) {
  std::string ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  const std::string rows(3 * (1 + size_t{3} * std::min<uint32_t>(w, 4096)), '\0');
  uLongf n = compressBound(rows.size());
  std::string idat(n, '\0');
  compress(reinterpret_cast<Bytef*>(idat.data()), &n, reinterpret_cast<const Bytef*>(rows.data()), rows.size());
  idat.resize(n);
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) +
         png_chunk("IEND", "");
}

std::string write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

bool header_size(const std::string& bytes, int64_t* w, int64_t* h) {
  return image::size_from_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), w, h);
}

}  // namespace

TEST(InputLimits, SizeFromTheHeaderOfEveryFormat) {
  int64_t w = 0, h = 0;
  ASSERT_TRUE(header_size(png_of_size(20000, 30000), &w, &h));
  EXPECT_EQ(w, 20000);
  EXPECT_EQ(h, 30000);
  ASSERT_TRUE(header_size(csg::testing::read_file_bytes("data/fixtures/jpeg/ycc420.jpg"), &w, &h));
  EXPECT_EQ(w, 64);
  EXPECT_EQ(h, 48);
  std::string gif = "GIF89a";
  put_le(gif, 300, 2);
  put_le(gif, 200, 2);
  gif += std::string(20, '\0');
  ASSERT_TRUE(header_size(gif, &w, &h));
  EXPECT_EQ(w, 300);
  EXPECT_EQ(h, 200);
  std::string bmp = "BM" + std::string(12, '\0');
  put_le(bmp, 40, 4);                                   // BITMAPINFOHEADER
  put_le(bmp, 640, 4);
  put_le(bmp, static_cast<uint32_t>(-480), 4);          // top-down
  bmp += std::string(30, '\0');
  ASSERT_TRUE(header_size(bmp, &w, &h));
  EXPECT_EQ(w, 640);
  EXPECT_EQ(h, 480);
  std::string psd = "8BPS" + std::string(10, '\0');
  put_be32(psd, 70000);  // height
  put_be32(psd, 50000);  // width
  psd += std::string(10, '\0');
  ASSERT_TRUE(header_size(psd, &w, &h));
  EXPECT_EQ(w, 50000);
  EXPECT_EQ(h, 70000);
  EXPECT_FALSE(header_size(png_of_size(10, 10).substr(0, 20), &w, &h)) << "a header cut short";
  EXPECT_FALSE(header_size("P6 10 10 255\n", &w, &h)) << "not a format read here";
}

TEST(InputLimits, A20000x20000PngIsRefusedForItsSizeBeforeDecoding) {
  csg::testing::TempDir tmp;
  const std::string huge = write(tmp / "huge.png", png_of_size(20000, 20000));
  const std::string says = huge + ": 20000x20000 pixels exceeds the limit of 178956970 pixels per image";
  for (const image::JpegDecoder d : {image::JpegDecoder::Stb, image::JpegDecoder::LibjpegTurbo}) {
    if (d == image::JpegDecoder::LibjpegTurbo && !image::have_libjpeg_turbo()) continue;
    csg::testing::JpegDecoderScope scope(d);
    try {
      image::load(huge);
      FAIL() << "decoded";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), says)) << e.what();
    }
  }
  // Within a raised limit it reaches the decoder, whose own ceiling is said with the size too.
  try {
    image::load(huge, int64_t{400'000'000});
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "20000x20000 pixels is more than stb_image decodes")) << e.what();
  }
  // Label maps follow the same limit.
  try {
    data::read_label_png(huge);
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), says)) << e.what();
  }
  // A JPEG over the limit, through both decoders: refused from its SOF segment.
  const std::string jpeg = "data/fixtures/jpeg/ycc420.jpg";
  for (const image::JpegDecoder d : {image::JpegDecoder::Stb, image::JpegDecoder::LibjpegTurbo}) {
    if (d == image::JpegDecoder::LibjpegTurbo && !image::have_libjpeg_turbo()) continue;
    csg::testing::JpegDecoderScope scope(d);
    EXPECT_THROW(image::load(jpeg, 64 * 48 - 1), Error);
    EXPECT_EQ(image::load(jpeg, 64 * 48).width, 64);
  }
}

TEST(InputLimits, TheLimitIsAFlagOfPredictEvalTrainAndAnOptionOfTheCApi) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 6, 12, 12);  // images of 36..52 px a side: 1,296 .. 2,704 pixels
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 3;
  infer::ModelWeights m;
  m.info.arch = "resnet18", m.info.width = 8, m.info.num_classes = 3, m.info.head = "fc";
  m.info.resize = 36, m.info.crop = 32;
  m.info.class_names = infer::default_class_names(infer::Task::Classification, 3);
  m.tensors = models::ResNet(o).state_dict();
  const std::string model = tmp / "model.safetensors";
  infer::export_model(model, m);
  const std::string huge = write(tmp / "huge.png", png_of_size(20000, 20000));

  const CliResult p = run_cli_captured({"predict", "--model", model, "--quiet", huge});
  EXPECT_EQ(p.status, 1);
  EXPECT_TRUE(contains(p.err, huge + ": 20000x20000 pixels exceeds the limit of 178956970")) << p.err;
  const std::string folder = data + "/validation/aeroplane";
  const CliResult low = run_cli_captured({"predict", "--model", model, "--quiet", "--max-image-pixels", "1000", folder});
  EXPECT_EQ(low.status, 1);
  EXPECT_TRUE(contains(low.err, "pixels exceeds the limit of 1000 pixels per image")) << low.err;
  const CliResult enough =
      run_cli_captured({"predict", "--model", model, "--quiet", "--max-image-pixels", "3000", folder});
  EXPECT_EQ(enough.status, 0) << enough.err;

  // eval skips (and names) every image over the limit; train cannot substitute them all.
  const CliResult e = run_cli_captured({"eval", "visda", "--data", data, "--weights", "none", "--arch", "resnet18",
                                        "--width", "8",
                                        "--image-size", "32", "--quiet", "--workers", "0", "--max-image-pixels", "1000"});
  EXPECT_TRUE(contains(e.err, "/validation/")) << e.err;
  EXPECT_TRUE(contains(e.err, "pixels exceeds the limit of 1000 pixels per image")) << e.err;
  const CliResult t = run_cli_captured({"train", "visda", "--data", data, "--out", tmp / "run", "--weights", "none",
                                        "--arch", "resnet18",
                                        "--width", "8", "--image-size", "32", "--batch-size", "4", "--queue-size", "64",
                                        "--max-steps", "1", "--no-eval", "--quiet", "--workers", "0",
                                        "--max-image-pixels", "1000"});
  EXPECT_EQ(t.status, 1);
  EXPECT_TRUE(contains(t.err, "pixels exceeds the limit of 1000 pixels per image")) << t.err;
  EXPECT_TRUE(contains(csg::testing::read_file_bytes(tmp / "run/config.json"), "\"max-image-pixels\": \"1000\""));

  // The C API: the default refuses the 20000 x 20000 image; a model's own limit applies to it alone.
  csg_model* a = nullptr;
  ASSERT_EQ(csg_model_open(model.c_str(), nullptr, &a), CSG_OK) << csg_last_error();
  const char* paths[1] = {huge.c_str()};
  int id = -1;
  EXPECT_EQ(csg_classify_files(a, paths, 1, nullptr, &id), CSG_ERR_IMAGE);
  EXPECT_TRUE(contains(csg_last_error(), "20000x20000 pixels exceeds the limit of 178956970")) << csg_last_error();
  const std::string small = data + "/validation/" + [&] {
    std::ifstream list(data + "/validation/image_list.txt");
    std::string path;
    list >> path;
    return path;
  }();
  const char* small_path[1] = {small.c_str()};
  EXPECT_EQ(csg_classify_files(a, small_path, 1, nullptr, &id), CSG_OK) << csg_last_error();
  EXPECT_EQ(csg_model_set_max_image_pixels(a, 100), CSG_OK);
  EXPECT_EQ(csg_classify_files(a, small_path, 1, nullptr, &id), CSG_ERR_IMAGE);
  EXPECT_TRUE(contains(csg_last_error(), small + ": ")) << csg_last_error();
  EXPECT_TRUE(contains(csg_last_error(), "exceeds the limit of 100 pixels")) << csg_last_error();
  EXPECT_EQ(csg_model_set_max_image_pixels(a, 0), CSG_OK);  // back to the default
  EXPECT_EQ(csg_classify_files(a, small_path, 1, nullptr, &id), CSG_OK) << csg_last_error();
  EXPECT_EQ(csg_model_set_max_image_pixels(nullptr, 5), CSG_ERR_INVALID_ARGUMENT);
  csg_model_free(a);
}
