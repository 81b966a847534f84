#!/usr/bin/python3
"""PIL / torchvision results of the augmentation ops, for tests/test_augment.cpp.

Writes small deterministic RGB source images and, for each case, what PIL (ImageOps,
ImageEnhance, Image.rotate / Image.transform) or torchvision's functional colour ops on PIL
images make of them, all as lossless PNGs, plus manifest.txt with one line per case:

    <output png> <source png> <op> [parameters...]

Numbers are written with repr() so the C++ side reads back the same doubles.
Run with Debian's python3 (python3-pil, python3-torchvision):
    /usr/bin/python3 tools/reference/make_augment_fixtures.py data/fixtures/augment
"""
import os
import sys

import numpy as np
import PIL
from PIL import Image, ImageEnhance, ImageFilter, ImageOps
import torchvision
import torchvision.transforms.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/augment"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)

# A: 33x25 (odd sizes: the rotation centre falls on a pixel centre), channels in different
# sub-ranges so that autocontrast / equalize have work to do, some texture for SMOOTH.
h, w = 25, 33
yy, xx = np.mgrid[0:h, 0:w]
r = 30 + xx * 170 // (w - 1)
g = 10 + yy * 230 // (h - 1)
b = (xx * 7 + yy * 11) % 256
base = np.stack([r, g, b], -1)
base[8:15, 10:20] = [220, 40, 90]  # a block with sharp edges
noise = rng.integers(-12, 13, size=(h, w, 3))
A = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")
B = A.crop((0, 0, 32, 24))  # even sizes: the centre falls between pixels
D = A.crop((4, 0, 29, 25))  # square 25x25 (Pillow 9 rotates by 90/270 with a transpose)
# C: degenerate channels: R constant, G two values, B a narrow ramp.
C = np.zeros((7, 9, 3), np.uint8)
C[..., 0] = 77
C[..., 1] = np.where((np.arange(9)[None, :] + np.arange(7)[:, None]) % 3 == 0, 200, 10)
C[..., 2] = 100 + np.arange(9)[None, :] + np.arange(7)[:, None]
C = Image.fromarray(C, "RGB")
# E: 48x48 random colours, to exercise the float rounding of HSV, SMOOTH and the blends widely.
E = Image.fromarray(rng.integers(0, 256, size=(48, 48, 3)).astype(np.uint8), "RGB")
sources = {"A": A, "B": B, "C": C, "D": D, "E": E}
for name, im in sources.items():
    im.save(os.path.join(out, f"src_{name}.png"))


def affine(im, a):
    return im.transform(im.size, Image.AFFINE, a)


def jitter(im, order, b, c, s, hue):
    for op in order:
        if op == 0:
            im = F.adjust_brightness(im, b)
        elif op == 1:
            im = F.adjust_contrast(im, c)
        elif op == 2:
            im = F.adjust_saturation(im, s)
        else:
            im = F.adjust_hue(im, hue)
    return im


OPS = {
    "grey": lambda im: im.convert("L").convert("RGB"),
    "autocontrast": lambda im: ImageOps.autocontrast(im),
    "equalize": lambda im: ImageOps.equalize(im),
    "posterize": lambda im, bits: ImageOps.posterize(im, int(bits)),
    "solarize": lambda im, t: ImageOps.solarize(im, t),
    "smooth": lambda im: im.filter(ImageFilter.SMOOTH),
    "color": lambda im, f: ImageEnhance.Color(im).enhance(f),
    "contrast": lambda im, f: ImageEnhance.Contrast(im).enhance(f),
    "brightness": lambda im, f: ImageEnhance.Brightness(im).enhance(f),
    "sharpness": lambda im, f: ImageEnhance.Sharpness(im).enhance(f),
    "rotate": lambda im, d: im.rotate(d),
    "shear_x": lambda im, s: affine(im, (1, s, 0, 0, 1, 0)),
    "shear_y": lambda im, s: affine(im, (1, 0, 0, s, 1, 0)),
    "translate_x": lambda im, t: affine(im, (1, 0, t, 0, 1, 0)),
    "translate_y": lambda im, t: affine(im, (1, 0, 0, 0, 1, t)),
    "tv_brightness": lambda im, f: F.adjust_brightness(im, f),
    "tv_contrast": lambda im, f: F.adjust_contrast(im, f),
    "tv_saturation": lambda im, f: F.adjust_saturation(im, f),
    "tv_hue": lambda im, hue: F.adjust_hue(im, hue),
    "jitter": lambda im, o, b, c, s, hue: jitter(im, [int(ch) for ch in o], b, c, s, hue),
}

# RandAugment magnitudes: v = (M / 30) * max; M = 6 gives 0.2 * max. Both signs where signed.
cases = [("A", "grey"), ("C", "grey"),
         ("A", "autocontrast"), ("C", "autocontrast"), ("A", "equalize"), ("C", "equalize"),
         ("A", "smooth"), ("C", "smooth")]
cases += [("A", "posterize", bits) for bits in (1, 4, 7, 8)]
cases += [("A", "solarize", t) for t in (256 - 51.2, 128, 0, 256)]
for op in ("color", "contrast", "brightness", "sharpness"):
    cases += [("A", op, f) for f in (1 + 0.18, 1 - 0.18, 1 + 0.9, 1 - 0.9, 0.0)]
cases += [("C", "contrast", 1.5), ("C", "sharpness", 1.9)]
cases += [("A", "rotate", d) for d in (6.0, -6.0, 30.0, -30.0, 13.7, 180.0, 90.0, 0.0)]
cases += [("B", "rotate", d) for d in (6.0, -6.0, 30.0, -17.3, 270.0)]
cases += [("D", "rotate", d) for d in (90.0, 270.0, -90.0)]
for op in ("shear_x", "shear_y"):
    cases += [("A", op, s) for s in (0.06, -0.06, 0.3, -0.3, 0.17)]
    cases += [("B", op, s) for s in (0.3, -0.3)]
for op in ("translate_x", "translate_y"):
    cases += [("A", op, t) for t in (20.0, -20.0, 7 / 30 * 100.0, -7.5, 100.0)]
for f in (0.6, 1.4, 0.83):
    cases += [("A", "tv_brightness", f), ("A", "tv_contrast", f), ("A", "tv_saturation", f)]
cases += [("A", "tv_hue", hue) for hue in (0.0, 0.4, -0.4, 0.1, -0.1, 0.25, -0.5, 0.5, -0.0019)]
cases += [("C", "tv_hue", 0.3)]
cases += [("E", "tv_hue", hue) for hue in (0.0, 0.37, -0.21)]
cases += [("E", "smooth"), ("E", "sharpness", 1.9), ("E", "contrast", 0.3), ("E", "color", 1.7),
          ("E", "rotate", 17.0), ("E", "equalize"), ("E", "tv_saturation", 0.6)]
# jitter: the op order as digits (0 brightness, 1 contrast, 2 saturation, 3 hue), then the factors.
cases += [("A", "jitter", "3102", 1.3, 0.7, 1.25, -0.15), ("A", "jitter", "0123", 0.61, 1.39, 0.9, 0.33),
          ("A", "jitter", "2310", 1.05, 0.95, 1.4, 0.4)]

lines = []
for i, (src, op, *params) in enumerate(cases):
    result = OPS[op](sources[src], *params)
    assert result.mode == "RGB" and result.size == sources[src].size, (op, params)
    fname = f"{i:03d}_{op}.png"
    result.save(os.path.join(out, fname))
    params = [p if isinstance(p, str) else repr(float(p)) for p in params]
    lines.append(" ".join([fname, f"src_{src}.png", op] + params))
with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write(f"# Pillow {PIL.__version__}, torchvision {torchvision.__version__}\n")
    f.write("\n".join(lines) + "\n")
print("wrote", len(lines), "cases to", out)
