// src/data/jpeg_decode.cpp — JPEG through libjpeg-turbo, set up as Pillow's JpegDecode.c sets
// it up, so that pixels equal PIL.Image.open(f).convert("RGB") byte for byte:
//  * libjpeg's defaults otherwise: ISLOW integer DCT, fancy (triangle) upsampling of chroma,
//    block smoothing of progressive scans; the colour space the file declares (JFIF/Adobe
//    markers) is trusted, and out_color_space follows the component count as PIL's mode does:
//    1 -> grayscale, 3 -> RGB, 4 -> CMYK (YCCK is converted to CMYK by libjpeg).
//  * convert("RGB"): grey is copied to the three channels; a 4-component image is read by PIL
//    as Adobe-inverted CMYK ("CMYK;I", whatever the markers say), then converted with
//    Pillow's cmyk2rgb (nk = 255 - K; channel = nk - C*nk/255, rounded).
//  * Warnings (corrupt entropy data, extraneous bytes) are ignored as PIL ignores them, except
//    the end of the file coming before the EOI marker: PIL raises "image file is truncated"
//    there (LOAD_TRUNCATED_IMAGES is off by default), so that one is an error here too.
//
// jpeglib.h rather than turbojpeg.h: PIL calls this API of the same libjpeg62-turbo library,
// so each of its settings is one field here, and only this API lets a single warning (the
// premature end of file) be told apart from the rest; TurboJPEG (libturbojpeg0, its own copy of
// the codec) has no CMYK-to-RGB path and only an all-warnings-or-none switch.
#include "src/data/image_decoders.h"

#include "csg/error.h"

#ifdef CSG_WITH_LIBJPEG
#include <csetjmp>
#include <cstdio>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>
#endif

namespace csg::image {

#ifdef CSG_WITH_LIBJPEG

namespace {

// A progressive file may hold any number of scans, each a pass over the whole image; real
// ones have about ten, crafted ones 10^5 (minutes of CPU for a few kB). PIL has no limit.
constexpr int kMaxScans = 1000;

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg hands callbacks &pub, which is this object
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

// Everything the decoder allocates, released on every path by the destructor (a zeroed
// struct is safe to destroy, also when jpeg_create_decompress never ran).
struct Decompressor {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  jpeg_progress_mgr progress{};
  std::vector<uint8_t> row;  // one grey or CMYK output row, before conversion to RGB
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
};

[[noreturn]] void fail_with_message(j_common_ptr c) {
  ErrorManager* e = reinterpret_cast<ErrorManager*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Replaces emit_message, whose default prints the first warning to stderr.
void on_message(j_common_ptr c, int level) {
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) fail_with_message(c);
}

void on_progress(j_common_ptr c) {
  j_decompress_ptr d = reinterpret_cast<j_decompress_ptr>(c);
  if (d->input_scan_number <= kMaxScans) return;
  ErrorManager* e = reinterpret_cast<ErrorManager*>(c->err);
  std::snprintf(e->message, sizeof e->message, "more than %d progressive scans", kMaxScans);
  std::longjmp(e->jump, 1);
}

// Pillow's MULDIV255: a * b / 255 rounded, in integers.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

void grey_to_rgb(const uint8_t* grey, uint8_t* rgb, int width) {
  for (int x = 0; x < width; ++x) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = grey[x];
}

void adobe_cmyk_to_rgb(const uint8_t* cmyk, uint8_t* rgb, int width) {
  for (int x = 0; x < width; ++x) {
    const uint8_t* p = cmyk + 4 * x;
    const int nk = p[3];  // PIL's K is 255 - libjpeg's; nk = 255 - K
    for (int c = 0; c < 3; ++c) rgb[3 * x + c] = static_cast<uint8_t>(nk - muldiv255(255 - p[c], nk));
  }
}

enum class Outcome { Decoded, Failed, TooLarge, BadComponents };

// The libjpeg calls, between one setjmp and the longjmps of the callbacks above. No object
// with a destructor lives in this frame (longjmp would skip it): all state is in `d` and `out`,
// owned by the caller.
Outcome run_libjpeg(Decompressor& d, const uint8_t* bytes, size_t n, int64_t max_pixels, Image& out) {
  d.cinfo.err = jpeg_std_error(&d.err.pub);
  d.err.pub.error_exit = fail_with_message;
  d.err.pub.emit_message = on_message;
  if (setjmp(d.err.jump)) return Outcome::Failed;
  jpeg_create_decompress(&d.cinfo);
  d.progress.progress_monitor = on_progress;
  d.cinfo.progress = &d.progress;
  jpeg_mem_src(&d.cinfo, bytes, static_cast<unsigned long>(n));
  jpeg_read_header(&d.cinfo, TRUE);
  out.width = static_cast<int>(d.cinfo.image_width);
  out.height = static_cast<int>(d.cinfo.image_height);
  if (static_cast<int64_t>(out.width) * out.height > max_pixels) return Outcome::TooLarge;
  const int components = d.cinfo.num_components;
  if (components == 1) d.cinfo.out_color_space = JCS_GRAYSCALE;
  else if (components == 3) d.cinfo.out_color_space = JCS_RGB;
  else if (components == 4) d.cinfo.out_color_space = JCS_CMYK;
  else return Outcome::BadComponents;
  jpeg_start_decompress(&d.cinfo);
  const size_t width = d.cinfo.output_width;
  out.rgb.resize(width * d.cinfo.output_height * 3);
  d.row.resize(width * static_cast<size_t>(d.cinfo.output_components));
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    uint8_t* dst = &out.rgb[d.cinfo.output_scanline * width * 3];
    JSAMPROW target = components == 3 ? dst : d.row.data();
    jpeg_read_scanlines(&d.cinfo, &target, 1);
    if (components == 1) grey_to_rgb(d.row.data(), dst, out.width);
    if (components == 4) adobe_cmyk_to_rgb(d.row.data(), dst, out.width);
  }
  jpeg_finish_decompress(&d.cinfo);  // reads on to EOI, so a file cut after its pixels is caught
  return Outcome::Decoded;
}

}  // namespace

Image decode_with_libjpeg(const uint8_t* bytes, size_t n, const std::string& what, int64_t max_pixels) {
  Decompressor d;
  Image out;
  switch (run_libjpeg(d, bytes, n, max_pixels, out)) {
    case Outcome::Decoded:
      return out;
    case Outcome::TooLarge:
      check_pixel_limit(what, out.width, out.height, max_pixels);
      break;
    case Outcome::BadComponents:
      CSG_FAIL(what, ": corrupt JPEG (", d.cinfo.num_components,
               " colour components; only 1, 3 or 4 can be converted to RGB)");
    case Outcome::Failed:
      break;
  }
  if (d.err.pub.msg_code == JWRN_JPEG_EOF)
    CSG_FAIL(what, ": truncated JPEG (", d.err.message,
             ": the data stops before the end-of-image marker); the file is incomplete or corrupt: re-download or "
             "re-export it");
  CSG_FAIL(what, ": corrupt JPEG (", d.err.message, "); the file is damaged: re-download or re-export it");
}

#else  // built without libjpeg-turbo

Image decode_with_libjpeg(const uint8_t*, size_t, const std::string& what, int64_t) {
  CSG_FAIL(what, ": this build has no libjpeg-turbo (make JPEG=0, or jpeglib.h was not found); install "
                 "libjpeg62-turbo-dev and rebuild, or decode JPEG with stb_image (JpegDecoder::Stb)");
}

#endif

}  // namespace csg::image
