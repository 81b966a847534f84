// src/data/transforms.cpp — the reference's per-sample pipelines.
//
// Classification (train.py, VisDA-17): RandAugment(1, 6) on the original image, shorter side
// to 224 (PIL bilinear), RandomCrop 224, ToTensor + Normalize; two independent views for the
// query and the key. Validation and the no-augment variant: Resize 224, CenterCrop 224.
//
// Segmentation (dataloader_seg.py + TorchSeg img_utils, GTA5): mirror with p = 0.5, scale by
// s ~ U(0.75, 1.25) (cv2 bilinear for the image, nearest for the labels), one crop position,
// normalise + crop + pad (image 0, labels 255); the key view is ColorJitter(0.4, 0.4, 0.4, 0.4)
// of the same mirrored, scaled image, cropped at the same position.
#include <algorithm>
#include <cmath>

#include "csg/augment.h"
#include "csg/error.h"

namespace csg::augment {

// ---- classification -------------------------------------------------------------------------

Image random_crop(const Image& im, int w, int h, Generator& gen) {
  CSG_CHECK(w > 0 && h > 0 && w <= im.width && h <= im.height, "random_crop: ", w, "x", h,
            " does not fit in the ", im.width, "x", im.height, " image");
  const int top = randint(gen, 0, im.height - h);
  const int left = randint(gen, 0, im.width - w);
  return image::crop(im, left, top, w, h);
}

Tensor classification_eval(const Image& im, const ClassificationTransform& t) {
  CSG_CHECK(t.crop <= t.resize, "classification transform: crop ", t.crop, " is larger than the resize ", t.resize);
  return image::to_tensor(image::center_crop(image::resize_shorter_side(im, t.resize), t.crop, t.crop), t.mean,
                          t.std);
}

Tensor classification_train_view(const Image& im, const ClassificationTransform& t, Generator& gen) {
  if (!t.augment) return classification_eval(im, t);
  CSG_CHECK(t.crop <= t.resize, "classification transform: crop ", t.crop, " is larger than the resize ", t.resize);
  const RandAugment randaugment(t.randaugment_n, t.randaugment_m, t.randaugment_translate_reference);
  const Image augmented = randaugment(im, gen);
  const Image resized = image::resize_shorter_side(augmented, t.resize);
  return image::to_tensor(random_crop(resized, t.crop, t.crop, gen), t.mean, t.std);
}

data::Transform classification_train_transform(const ClassificationTransform& t) {
  CSG_CHECK(t.crop > 0 && t.crop <= t.resize, "classification_train_transform: resize ", t.resize, ", crop ", t.crop);
  return [t](data::Sample& s, Generator& gen) {
    ViewPair v = classification_train_views(s.image, t, gen);
    data::Item item;
    item.views = {v.q, v.k};
    item.label = s.label;
    return item;
  };
}

data::Transform classification_eval_transform(const ClassificationTransform& t) {
  CSG_CHECK(t.crop > 0 && t.crop <= t.resize, "classification_eval_transform: resize ", t.resize, ", crop ", t.crop);
  return [t](data::Sample& s, Generator&) {
    data::Item item;
    item.views = {classification_eval(s.image, t)};
    item.label = s.label;
    return item;
  };
}

ViewPair classification_train_views(const Image& im, const ClassificationTransform& t, Generator& gen) {
  ViewPair v;
  v.q = classification_train_view(im, t, gen);
  v.k = t.augment ? classification_train_view(im, t, gen) : v.q;
  return v;
}

// ---- segmentation -----------------------------------------------------------------------------

int crop_offset(int size, int crop, Generator& gen) {
  CSG_CHECK(size > 0 && crop > 0, "crop_offset: bad sizes ", size, " and ", crop);
  return size > crop ? randint(gen, 0, size - crop + 1) : 0;
}

namespace {

// The part of the w x h window at (x, y) that lies in a size_w x size_h image, and where it
// goes in the padded output (pad_image_to_shape: margin before = pad // 2).
struct Window {
  int avail_w, avail_h, left, top;
};

Window window(int size_w, int size_h, int x, int y, int w, int h, const char* op) {
  CSG_CHECK(w > 0 && h > 0, op, ": bad crop size ", w, "x", h);
  CSG_CHECK(x >= 0 && x < size_w && y >= 0 && y < size_h, op, ": crop position (", x, ", ", y,
            ") is outside the ", size_w, "x", size_h, " image");
  Window win;
  win.avail_w = std::min(w, size_w - x);
  win.avail_h = std::min(h, size_h - y);
  win.left = (w - win.avail_w) / 2;
  win.top = (h - win.avail_h) / 2;
  return win;
}

}  // namespace

Tensor crop_pad_normalised(const Image& im, int x, int y, int w, int h, const std::array<double, 3>& mean,
                           const std::array<double, 3>& std) {
  const Window win = window(im.width, im.height, x, y, w, h, "crop_pad_normalised");
  // normalize(): float32(v) / 255 in float32, then (that - mean) / std in double.
  float table[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) {
      const float q = static_cast<float>(v) / 255.0f;
      table[c][v] = static_cast<float>((static_cast<double>(q) - mean[c]) / std[c]);
    }
  Tensor out = zeros({3, h, w});
  float* p = out.data<float>();
  const int64_t plane = static_cast<int64_t>(w) * h;
  for (int r = 0; r < win.avail_h; ++r) {
    const uint8_t* src = im.at(x, y + r);
    const int64_t row = static_cast<int64_t>(win.top + r) * w + win.left;
    for (int c = 0; c < win.avail_w; ++c)
      for (int ch = 0; ch < 3; ++ch) p[ch * plane + row + c] = table[ch][src[c * 3 + ch]];
  }
  return out;
}

LabelMap crop_pad(const LabelMap& labels, int x, int y, int w, int h, uint8_t pad) {
  const Window win = window(labels.width, labels.height, x, y, w, h, "crop_pad");
  LabelMap out;
  out.width = w;
  out.height = h;
  out.values.assign(static_cast<size_t>(w) * h, pad);
  for (int r = 0; r < win.avail_h; ++r)
    for (int c = 0; c < win.avail_w; ++c) out.at(win.left + c, win.top + r) = labels.at(x + c, y + r);
  return out;
}

SegmentationSample segmentation_train(const Image& im, const LabelMap& labels, const SegmentationTransform& t,
                                      Generator& gen) {
  CSG_CHECK(im.width == labels.width && im.height == labels.height &&
                labels.values.size() == static_cast<size_t>(labels.width) * labels.height,
            "segmentation_train: the ", labels.width, "x", labels.height, " label map does not match the ", im.width,
            "x", im.height, " image");
  CSG_CHECK(t.scale_min > 0 && t.scale_min <= t.scale_max, "segmentation_train: bad scale range [", t.scale_min, ", ",
            t.scale_max, "]");
  SegmentationSample s;
  s.mirrored = uniform01(gen) < t.mirror_probability;
  s.scale = uniform(gen, t.scale_min, t.scale_max);
  s.scaled_height = static_cast<int>(im.height * s.scale);
  s.scaled_width = static_cast<int>(im.width * s.scale);
  CSG_CHECK(s.scaled_width > 0 && s.scaled_height > 0, "segmentation_train: scale ", s.scale, " shrinks the ",
            im.width, "x", im.height, " image to nothing");
  Image img;
  LabelMap lab;
  if (s.mirrored) {
    img = resize_linear_cv(hflip(im), s.scaled_width, s.scaled_height);
    lab = resize_nearest_cv(hflip(labels), s.scaled_width, s.scaled_height);
  } else {
    img = resize_linear_cv(im, s.scaled_width, s.scaled_height);
    lab = resize_nearest_cv(labels, s.scaled_width, s.scaled_height);
  }
  s.crop_y = crop_offset(s.scaled_height, t.crop_height, gen);
  s.crop_x = crop_offset(s.scaled_width, t.crop_width, gen);
  s.image = crop_pad_normalised(img, s.crop_x, s.crop_y, t.crop_width, t.crop_height, t.mean, t.std);
  if (t.key_view) {
    s.jitter = draw_jitter(t.jitter, gen);
    // Jitter only the crop window (same bytes as jittering the whole image, see augment.h),
    // then pad it exactly as the query view: the window starts at the origin of its own image.
    const Image window = color_jitter_window(img, s.jitter, s.crop_x, s.crop_y, t.crop_width, t.crop_height);
    s.key = crop_pad_normalised(window, 0, 0, t.crop_width, t.crop_height, t.mean, t.std);
  }
  s.label = crop_pad(lab, s.crop_x, s.crop_y, t.crop_width, t.crop_height, kIgnoreLabel);
  return s;
}

data::Transform segmentation_train_transform(const SegmentationTransform& t) {
  CSG_CHECK(t.crop_width > 0 && t.crop_height > 0, "segmentation_train_transform: bad crop ", t.crop_width, "x",
            t.crop_height);
  return [t](data::Sample& s, Generator& gen) {
    SegmentationSample r = segmentation_train(s.image, s.label_map, t, gen);
    data::Item item;
    item.views.push_back(r.image);
    if (r.key.defined()) item.views.push_back(r.key);
    item.label_map = data::label_map_tensor(r.label);
    return item;
  };
}

}  // namespace csg::augment
