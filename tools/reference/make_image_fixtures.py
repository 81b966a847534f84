#!/usr/bin/python3
"""PIL / torchvision preprocessing results for csg's image tests (data/fixtures/image/).

Writes a small deterministic RGB image and what PIL's bilinear resize and torchvision's
Resize + CenterCrop make of it, all as lossless PNGs, so the C++ test can compare bytes.
Run with Debian's python3 (python3-pil, python3-torchvision):
    /usr/bin/python3 tools/reference/make_image_fixtures.py data/fixtures/image
"""
import os
import sys

import numpy as np
from PIL import Image
import torchvision.transforms as T

out = sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/image"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)
h, w = 37, 53
yy, xx = np.mgrid[0:h, 0:w]
base = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (w + h - 2)], -1)
noise = rng.integers(-40, 40, size=(h, w, 3))
src = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")
src.save(os.path.join(out, "source.png"))
src.resize((20, 15), Image.BILINEAR).save(os.path.join(out, "resize_20x15.png"))
src.resize((80, 61), Image.BILINEAR).save(os.path.join(out, "resize_80x61.png"))
src.resize((53, 12), Image.BILINEAR).save(os.path.join(out, "resize_53x12.png"))
T.Compose([T.Resize(24), T.CenterCrop(24)])(src).save(os.path.join(out, "resize24_crop24.png"))
T.Compose([T.Resize(30), T.CenterCrop(17)])(src).save(os.path.join(out, "resize30_crop17.png"))
print("wrote", sorted(os.listdir(out)))
