// csg/image.h — decoding and the preprocessing torchvision applies to PIL images, reproduced
// bit for bit: PIL's decode (libjpeg-turbo for JPEG, stb_image for PNG/BMP/...), PIL's
// antialiased bilinear resize, centre crop, ToTensor + Normalize.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "csg/tensor.h"

namespace csg::image {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major, interleaved RGB
  uint8_t* at(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* at(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// A dense uint8 label image (width x height, row-major): class ids or train ids per pixel,
// 255 marks pixels to ignore.
struct LabelMap {
  int width = 0, height = 0;
  std::vector<uint8_t> values;
  uint8_t& at(int x, int y) { return values[static_cast<size_t>(y) * width + x]; }
  uint8_t at(int x, int y) const { return values[static_cast<size_t>(y) * width + x]; }
  bool empty() const { return values.empty(); }
};
constexpr uint8_t kIgnoreLabel = 255;

// Images with more pixels than this are refused from their header, before any pixel buffer
// is allocated (the limit is a setting: --max-image-pixels, csg_model_set_max_image_pixels).
// The default is PIL's refusal threshold, 2 x Image.MAX_IMAGE_PIXELS (89,478,485, where PIL
// only warns): every image PIL (and so a torchvision pipeline) opens, csg opens too, and one
// image at the limit costs at most ~540 MB of RGB pixels.
constexpr int64_t kDefaultMaxPixels = 178'956'970;

// Width and height from the header of a PNG, JPEG, GIF, BMP or PSD file, nothing decoded;
// false for other formats or a header cut short (the decoder then reads the size itself).
bool size_from_header(const uint8_t* bytes, size_t n, int64_t* width, int64_t* height);
// Throws, naming `what`, the image's size and the limit, when width x height > max_pixels.
void check_pixel_limit(const std::string& what, int64_t width, int64_t height, int64_t max_pixels);

// Decodes PNG/JPEG/BMP/... to RGB (grey and alpha are converted as PIL's convert("RGB")).
// Errors name the file: missing, a directory, unreadable, corrupt, truncated, or over
// `max_pixels` (checked on the header: load() reads the rest of a file only when it is within).
// JPEG (a file starting with the SOI marker FF D8) goes to jpeg_decoder(); everything else to
// stb_image. With libjpeg-turbo the pixels equal PIL.Image.open(path).convert("RGB") byte for
// byte: baseline, progressive, any chroma subsampling, grey, CMYK/YCCK (inverted as Adobe
// writes it, as PIL assumes). As PIL, corrupt entropy data decodes as far as it goes, and a
// file that ends before its EOI marker is an error; unlike PIL, a progressive file with more
// than 1,000 scans is refused (each scan is a pass over the image: a denial of service).
Image load(const std::string& path, int64_t max_pixels = kDefaultMaxPixels);
Image decode(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels = kDefaultMaxPixels);
void save_png(const std::string& path, const Image& im);

// An image's size from its header alone (a PNG's IHDR, a JPEG's frame header), for the fast pass
// of `csg check-data`; other formats are decoded. A missing or unreadable file, a header cut short
// or not an image's, or a size over `max_pixels` is a csg::Error naming the file. A file cut short
// after its header passes: only decoding finds that.
struct ImageSize {
  int width = 0, height = 0;
};
ImageSize read_image_size(const std::string& path, int64_t max_pixels = kDefaultMaxPixels);

// Which library decodes JPEG, process-wide (default: libjpeg-turbo where the build has it).
// stb_image's JPEG pixels differ from PIL's by a few levels (its own IDCT and upsampling).
enum class JpegDecoder { LibjpegTurbo, Stb };
bool have_libjpeg_turbo();  // built with libjpeg-turbo (make JPEG=1, the default where jpeglib.h exists)
void set_jpeg_decoder(JpegDecoder d);  // LibjpegTurbo without have_libjpeg_turbo() is an error
JpegDecoder jpeg_decoder();

// PIL's Image.resize(..., BILINEAR): a triangle filter widened by the scale when shrinking
// (antialiasing), horizontal pass then vertical, 8-bit fixed point as Pillow computes it.
Image resize_bilinear(const Image& im, int out_w, int out_h);
// torchvision Resize(size): the shorter side becomes `size`, the longer int(size * long / short).
Image resize_shorter_side(const Image& im, int size);
Image crop(const Image& im, int x, int y, int w, int h);  // must lie inside the image
// torchvision CenterCrop: offsets round((H - h) / 2), round((W - w) / 2), half to even.
Image center_crop(const Image& im, int w, int h);

constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};
// ToTensor + Normalize: [3,H,W] float32, (pixel / 255 - mean) / std per channel.
Tensor to_tensor(const Image& im, const std::array<float, 3>& mean = kImageNetMean,
                 const std::array<float, 3>& std = kImageNetStd);

}  // namespace csg::image
