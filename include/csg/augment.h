// csg/augment.h — training-time augmentation of 8-bit RGB images, as the reference does it.
//
//  * PIL's image operations (ImageOps, ImageEnhance, Image.rotate / Image.transform with
//    nearest sampling), reproduced to the byte (src/data/augment_ops.cpp);
//  * torchvision's ColorJitter on PIL images (the same ImageEnhance blends plus PIL's HSV
//    conversion for the hue shift);
//  * OpenCV's resize (INTER_LINEAR in 11-bit fixed point, INTER_NEAREST) and flip, used by the
//    segmentation pipeline;
//  * RandAugment with the reference's 14 ops and magnitude table (src/data/randaugment.cpp);
//  * the classification and segmentation train/eval pipelines (src/data/transforms.cpp).
//
// Randomness: every draw comes from a csg::Generator, one counter per draw, so a pipeline run
// twice with equally seeded generators gives identical results. The reference draws from
// Python's `random` / torch's RNG; the distributions are the same, the streams are not.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "csg/data/datasets.h"
#include "csg/data/loader.h"
#include "csg/image.h"
#include "csg/random.h"
#include "csg/tensor.h"

namespace csg::augment {

using image::Image;
// The dense uint8 label image of csg/image.h (width x height, row-major); 255 = ignore.
using image::kIgnoreLabel;
using image::LabelMap;

// ---- draws ---------------------------------------------------------------------------------
// One counter of `gen` each: uniform in [0,1) (24 random bits), in [lo,hi), and an integer
// uniform in [lo, hi] (both ends included, like Python's random.randint).
double uniform01(Generator& gen);
double uniform(Generator& gen, double lo, double hi);
int randint(Generator& gen, int lo, int hi);

// ---- PIL operations (Pillow 6.2 / 9.4 give the same bytes for all of these) ---------------
// Image.convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, i.e. ITU-R 601-2 luma
// (299/587/114 per mille) rounded to nearest. One value per pixel.
std::vector<uint8_t> to_grey(const Image& im);
// Image.point with one 256-entry table per channel (or the same table for all three).
Image apply_lut(const Image& im, const std::array<std::array<uint8_t, 256>, 3>& luts);
Image apply_lut(const Image& im, const std::array<uint8_t, 256>& lut);
// ImageOps.autocontrast(im) (cutoff 0): per channel, [lowest, highest] used value -> [0, 255]
// through int(i * scale + offset); a channel with one value is left alone.
Image autocontrast(const Image& im);
// ImageOps.equalize(im): per channel, step = (count - count of the last used value) // 255 and
// lut[i] = (step // 2 + pixels below i) // step; channels with step 0 or one value unchanged.
Image equalize(const Image& im);
// ImageOps.posterize(im, bits): keep the `bits` high bits (1..8).
Image posterize(const Image& im, int bits);
// ImageOps.solarize(im, threshold): values >= threshold become 255 - value.
Image solarize(const Image& im, double threshold);
// Image.blend(a, b, alpha) = a + alpha * (b - a) in float32, truncated (clamped to [0,255]
// when alpha is outside [0,1]); alpha 0 / 1 return a / b.
Image blend(const Image& a, const Image& b, double alpha);
// ImageFilter.SMOOTH: 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 in float32, rounded; the outermost
// rows and columns are copied unfiltered, images narrower or lower than 3 are copied.
Image smooth(const Image& im);
// ImageEnhance.{Color, Contrast, Brightness, Sharpness}(im).enhance(factor): blend from the
// degenerate image (greyscale / the mean grey level int(mean L + 0.5) / black / SMOOTH) to im.
// These are also torchvision's adjust_saturation / adjust_contrast / adjust_brightness on PIL images.
Image enhance_color(const Image& im, double factor);
// The pieces of Contrast: int(mean of the L histogram + 0.5), and a blend from a constant grey.
int mean_grey_level(const Image& im);
Image blend_from_constant(const Image& im, int level, double factor);
Image enhance_contrast(const Image& im, double factor);
Image enhance_brightness(const Image& im, double factor);
Image enhance_sharpness(const Image& im, double factor);
// Image.transform(im.size, AFFINE, a, NEAREST): output pixel (x, y) takes the input pixel at
// (a0*(x+.5) + a1*(y+.5) + a2, a3*(x+.5) + a4*(y+.5) + a5), truncated; outside -> black.
// Pillow's three code paths are reproduced: pure scaling/translation (a1 = a3 = 0) in double,
// otherwise 16.16 fixed point (or double when coordinates could overflow it).
Image affine_nearest(const Image& im, const std::array<double, 6>& a);
// Image.rotate(degrees) with NEAREST, expand=False, about (w/2, h/2); positive = counter-clockwise.
// 0 and 180 degrees (mod 360) are exact copies / flips as in Pillow.
Image rotate(const Image& im, double degrees);
// Output (x, y) samples input (x + s*y, y) / (x, s*x + y) / (x + t, y) / (x, y + t).
Image shear_x(const Image& im, double s);
Image shear_y(const Image& im, double s);
Image translate_x(const Image& im, double pixels);
Image translate_y(const Image& im, double pixels);
// Left-right mirror (PIL ImageOps.mirror, cv2.flip(im, 1)).
Image hflip(const Image& im);
LabelMap hflip(const LabelMap& labels);

// ---- torchvision ColorJitter on PIL images ---------------------------------------------------
// adjust_hue: PIL RGB -> HSV (8-bit channels), H += uint8(int(hue * 255)) modulo 256, back to RGB.
// |hue| <= 0.5. hue 0 still round-trips through PIL's HSV, which is lossy.
Image adjust_hue(const Image& im, double hue);

struct ColorJitter {
  // Factors are drawn from [max(0, 1 - v), 1 + v] (hue shift from [-hue, hue]); 0 turns one off.
  double brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.4;
};
struct JitterParams {
  std::array<int, 4> order = {0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
  bool use[4] = {false, false, false, false};
  double brightness = 1.0, contrast = 1.0, saturation = 1.0, hue = 0.0;
};
// A random permutation of the four ops, then each enabled op's factor.
JitterParams draw_jitter(const ColorJitter& cj, Generator& gen);
// Applies the enabled ops in params.order (torchvision ColorJitter.forward with those draws).
Image color_jitter(const Image& im, const JitterParams& params);
// color_jitter(im, params) cropped to the window at (x, y) of w x h clipped to the image, but
// computed on the window only (every op is per pixel except contrast, whose mean grey level is
// still taken over the whole image as jittered so far). Same bytes as cropping afterwards.
Image color_jitter_window(const Image& im, const JitterParams& params, int x, int y, int w, int h);

// ---- OpenCV geometry (segmentation pipeline) -------------------------------------------------
// cv2.resize(im, (w, h), INTER_LINEAR): source x = (dx + 0.5) * in/out - 0.5, clamped to the
// edge pixels, no antialiasing; weights in 11-bit fixed point, horizontal pass kept in int,
// vertical pass rounded: (b0*r0 + b1*r1 + 2^21) >> 22. This is OpenCV's scalar code; its SIMD
// vertical pass drops low bits before multiplying, so cv2 itself may differ from it by 1.
Image resize_linear_cv(const Image& im, int out_w, int out_h);
// cv2.resize(labels, (w, h), INTER_NEAREST): source x = min(floor(dx * in/out), in - 1).
LabelMap resize_nearest_cv(const LabelMap& labels, int out_w, int out_h);

// ---- RandAugment (reference utils/augmentations.py) ------------------------------------------
enum class AugOp : int {
  Identity, AutoContrast, Equalize, Rotate, Posterize, Solarize, Color,
  Contrast, Brightness, Sharpness, ShearX, ShearY, TranslateXabs, TranslateYabs
};
constexpr int kNumAugOps = 14;

struct AugOpInfo {
  AugOp op;
  const char* name;
  double min, max;   // magnitude range: v = (M / 30) * (max - min) + min
  bool random_sign;  // the op negates v when a draw is > 0.5
};
// The 14 ops in the reference's list order.
const std::array<AugOpInfo, kNumAugOps>& randaugment_ops();
const AugOpInfo& op_info(AugOp op);
double op_magnitude(AugOp op, double m);

// One op application as drawn: the op, its signed value and whether it changed anything
// (false when AutoContrast / Equalize lost their "with probability v" draw).
struct AppliedOp {
  AugOp op = AugOp::Identity;
  double value = 0.0;
  bool applied = true;
};
// The op with its final value, no draws: Rotate degrees, Posterize drops int(v) bits (at
// least 1 bit kept), Solarize threshold 256 - v, Color..Sharpness factor 1 + v, Shear s = v,
// Translate t = v pixels; AutoContrast / Equalize always applied.
Image apply_op(const Image& im, AugOp op, double value);
// The op as the reference calls it with magnitude value v: draws the sign (signed ops) or the
// apply-with-probability-v coin (AutoContrast / Equalize) from gen.
Image apply_op_random(const Image& im, AugOp op, double v, Generator& gen, AppliedOp* record = nullptr);

// The image size at which the reference's pixel magnitudes are meant: it translates by up to
// 100 * M / 30 pixels of VisDA images that it then resizes to 224 (20 px at M = 6, 9% of the frame).
constexpr int kRandAugmentReferenceSize = 224;

class RandAugment {
 public:
  // n ops per call, drawn uniformly with replacement; magnitude m in [0, 30].
  // translate_reference 0: the translations are absolute pixels (the reference). > 0: they are
  // pixels of an image of that size, scaled to the image at hand (x by width / reference, y by
  // height / reference), so a 32 px digit moves by the same fraction of its frame as a 224 px
  // photo. Rotation (degrees) and shear (a slope) are the same at every size.
  explicit RandAugment(int n = 1, double m = 6.0, int translate_reference = 0);
  Image operator()(const Image& im, Generator& gen, std::vector<AppliedOp>* log = nullptr) const;
  int n() const { return n_; }
  double m() const { return m_; }
  int translate_reference() const { return translate_reference_; }

 private:
  int n_;
  double m_;
  int translate_reference_;
};

// ---- classification (reference train.py, VisDA-17) -------------------------------------------
struct ClassificationTransform {
  int resize = 224;  // shorter side after resizing (PIL bilinear, antialiased)
  int crop = 224;    // square crop
  bool augment = true;
  int randaugment_n = 1;
  double randaugment_m = 6.0;
  int randaugment_translate_reference = 0;  // RandAugment's translate_reference (0: absolute pixels)
  std::array<float, 3> mean = image::kImageNetMean, std = image::kImageNetStd;
};
// torchvision RandomCrop(w, h) offsets: uniform over every position inside the image.
Image random_crop(const Image& im, int w, int h, Generator& gen);
// One training view: RandAugment -> resize shorter side -> random crop -> normalised [3,crop,crop].
// Without `augment`: resize -> centre crop -> normalised (no draws).
Tensor classification_train_view(const Image& im, const ClassificationTransform& t, Generator& gen);
// The query and key views: with `augment` two independent draws of the train view; without,
// the single centre-cropped tensor for both (k is q, as the reference passes the same tensor).
struct ViewPair {
  Tensor q, k;
};
ViewPair classification_train_views(const Image& im, const ClassificationTransform& t, Generator& gen);
// Validation: resize shorter side -> centre crop -> normalised.
Tensor classification_eval(const Image& im, const ClassificationTransform& t);
// For the data loader: Item.views = {q, k}, Item.label = the sample's class.
data::Transform classification_train_transform(const ClassificationTransform& t);
// For the evaluation loader: Item.views = {classification_eval(image)}, Item.label = the class.
data::Transform classification_eval_transform(const ClassificationTransform& t);

// ---- segmentation (reference dataloader_seg.py, GTA5) -----------------------------------------
struct SegmentationTransform {
  int crop_width = 512, crop_height = 512;
  double scale_min = 0.75, scale_max = 1.25;  // s ~ U[min, max); new size int(size * s)
  double mirror_probability = 0.5;
  bool key_view = true;  // --augment: a ColorJittered key view cropped at the same place
  ColorJitter jitter;
  // The reference normalises in double precision (numpy), then the result is stored as float.
  std::array<double, 3> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
};
struct SegmentationSample {
  Tensor image;    // [3, crop_height, crop_width] float32
  Tensor key;      // same shape; undefined without key_view
  LabelMap label;  // crop_width x crop_height
  // What was drawn (for logs and tests).
  bool mirrored = false;
  double scale = 1.0;
  int scaled_width = 0, scaled_height = 0;
  int crop_x = 0, crop_y = 0;
  JitterParams jitter;
};
// Reference crop offset along one axis: randint(0, size - crop + 1) when size > crop, else 0.
// The last offset is one past the last full crop, so that crop is one short and gets padded.
int crop_offset(int size, int crop, Generator& gen);
// Crop the window at (x, y) (clipped to the image) and pad it to w x h symmetrically, the odd
// pixel at the bottom / right: normalised image with 0 (the mean colour), labels with `pad`.
Tensor crop_pad_normalised(const Image& im, int x, int y, int w, int h, const std::array<double, 3>& mean,
                           const std::array<double, 3>& std);
LabelMap crop_pad(const LabelMap& labels, int x, int y, int w, int h, uint8_t pad = kIgnoreLabel);
// mirror -> scale (cv2 bilinear image, nearest labels) -> crop position -> normalise + crop/pad;
// key view: ColorJitter of the mirrored, scaled uint8 image, normalised and cropped identically.
// (data::label_map_tensor turns the label crop into the [H, W] int64 target.)
SegmentationSample segmentation_train(const Image& im, const LabelMap& labels, const SegmentationTransform& t,
                                      Generator& gen);
// For the data loader: Item.views = {image} or {image, key}, Item.label_map = the label crop.
data::Transform segmentation_train_transform(const SegmentationTransform& t);

}  // namespace csg::augment
