// src/data/randaugment.cpp — RandAugment as the reference (utils/augmentations.py) runs it.
//
// N ops are chosen uniformly with replacement from the 14-op list (all N choices first, as
// random.choices does), then applied in order, each with v = (M / 30) * (max - min) + min.
// Inside an op, the reference makes at most one more draw: the sign of v (negated when the
// draw is > 0.5) for the signed ops, or the "apply with probability v" coin (applied when the
// draw is <= v) for AutoContrast and Equalize. Posterize and Solarize are unsigned.
#include <algorithm>
#include <cmath>

#include "csg/augment.h"
#include "csg/error.h"

namespace csg::augment {

const std::array<AugOpInfo, kNumAugOps>& randaugment_ops() {
  static const std::array<AugOpInfo, kNumAugOps> ops = {{
      {AugOp::Identity, "Identity", 0.0, 1.0, false},
      {AugOp::AutoContrast, "AutoContrast", 0.0, 1.0, false},
      {AugOp::Equalize, "Equalize", 0.0, 1.0, false},
      {AugOp::Rotate, "Rotate", 0.0, 30.0, true},
      {AugOp::Posterize, "Posterize", 0.0, 7.0, false},
      {AugOp::Solarize, "Solarize", 0.0, 256.0, false},
      {AugOp::Color, "Color", 0.0, 0.9, true},
      {AugOp::Contrast, "Contrast", 0.0, 0.9, true},
      {AugOp::Brightness, "Brightness", 0.0, 0.9, true},
      {AugOp::Sharpness, "Sharpness", 0.0, 0.9, true},
      {AugOp::ShearX, "ShearX", 0.0, 0.3, true},
      {AugOp::ShearY, "ShearY", 0.0, 0.3, true},
      {AugOp::TranslateXabs, "TranslateXabs", 0.0, 100.0, true},
      {AugOp::TranslateYabs, "TranslateYabs", 0.0, 100.0, true},
  }};
  return ops;
}

const AugOpInfo& op_info(AugOp op) {
  const int i = static_cast<int>(op);
  CSG_CHECK(i >= 0 && i < kNumAugOps, "RandAugment: unknown op ", i);
  return randaugment_ops()[i];
}

double op_magnitude(AugOp op, double m) {
  const AugOpInfo& info = op_info(op);
  return (m / 30.0) * (info.max - info.min) + info.min;
}

Image apply_op(const Image& im, AugOp op, double v) {
  switch (op) {
    case AugOp::Identity: return im;
    case AugOp::AutoContrast: return autocontrast(im);
    case AugOp::Equalize: return equalize(im);
    case AugOp::Rotate: return rotate(im, v);
    case AugOp::Posterize: {
      CSG_CHECK(v >= 0 && v <= 7, "Posterize: value must be in [0, 7], got ", v);
      return posterize(im, std::max(1, 8 - static_cast<int>(v)));
    }
    case AugOp::Solarize: {
      CSG_CHECK(v >= 0 && v <= 256, "Solarize: value must be in [0, 256], got ", v);
      return solarize(im, 256.0 - v);
    }
    case AugOp::Color: return enhance_color(im, 1.0 + v);
    case AugOp::Contrast: return enhance_contrast(im, 1.0 + v);
    case AugOp::Brightness: return enhance_brightness(im, 1.0 + v);
    case AugOp::Sharpness: return enhance_sharpness(im, 1.0 + v);
    case AugOp::ShearX: return shear_x(im, v);
    case AugOp::ShearY: return shear_y(im, v);
    case AugOp::TranslateXabs: return translate_x(im, v);
    case AugOp::TranslateYabs: return translate_y(im, v);
  }
  CSG_FAIL("RandAugment: unknown op ", static_cast<int>(op));
}

Image apply_op_random(const Image& im, AugOp op, double v, Generator& gen, AppliedOp* record) {
  AppliedOp rec;
  rec.op = op;
  rec.value = v;
  if (op == AugOp::AutoContrast || op == AugOp::Equalize) {
    rec.applied = uniform01(gen) <= v;
  } else if (op_info(op).random_sign) {
    if (uniform01(gen) > 0.5) rec.value = -v;
  }
  if (record) *record = rec;
  return rec.applied ? apply_op(im, op, rec.value) : im;
}

RandAugment::RandAugment(int n, double m, int translate_reference)
    : n_(n), m_(m), translate_reference_(translate_reference) {
  CSG_CHECK(n >= 0, "RandAugment: the number of ops must be >= 0, got ", n);
  CSG_CHECK(m >= 0 && m <= 30, "RandAugment: magnitude must be in [0, 30], got ", m);
  CSG_CHECK(translate_reference >= 0, "RandAugment: the translation's reference size must be >= 0, got ",
            translate_reference);
}

Image RandAugment::operator()(const Image& im, Generator& gen, std::vector<AppliedOp>* log) const {
  std::vector<AugOp> chosen(n_);
  for (int i = 0; i < n_; ++i) chosen[i] = static_cast<AugOp>(randint(gen, 0, kNumAugOps - 1));
  Image out = im;
  for (AugOp op : chosen) {
    AppliedOp rec;
    double v = op_magnitude(op, m_);
    if (translate_reference_ > 0 && op == AugOp::TranslateXabs) v *= static_cast<double>(out.width) / translate_reference_;
    if (translate_reference_ > 0 && op == AugOp::TranslateYabs) v *= static_cast<double>(out.height) / translate_reference_;
    out = apply_op_random(out, op, v, gen, &rec);
    if (log) log->push_back(rec);
  }
  return out;
}

}  // namespace csg::augment
