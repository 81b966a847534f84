#!/usr/bin/python3
"""JPEG files and PIL's decode of them, for csg's libjpeg-turbo decoder tests (data/fixtures/jpeg/).

Each <name>.jpg is written by PIL from one deterministic picture (gradients, shapes, a little
noise), and <name>.png holds what PIL.Image.open(<name>.jpg).convert("RGB") makes of it, as a
lossless PNG, so the C++ test can compare bytes: 4:2:0, 4:2:2 and 4:4:4 chroma subsampling,
grayscale, progressive, an odd size (37x29, partial MCUs on both edges), CMYK (PIL writes
Adobe-inverted CMYK and reads every 4-component JPEG that way), and corrupt_scan: ycc420 with
8 bytes of its entropy-coded data overwritten (a stray RST marker among them), which libjpeg
decodes with warnings and PIL accepts, so the damaged pixels must match too.
Run with Debian's python3 (python3-pil links libjpeg62-turbo, the library csg decodes with):
    /usr/bin/python3 tools/reference/make_jpeg_fixtures.py data/fixtures/jpeg
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, features


def picture(w, h, seed):
    """Smooth gradients under a few filled shapes and mild noise: edges and flat areas, as photos have."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1), 128 + 100 * np.sin(xx / 5.0 + yy / 7.0)], -1)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse([w * 0.1, h * 0.2, w * 0.55, h * 0.8], fill=(230, 40, 30))
    d.rectangle([w * 0.6, h * 0.1, w * 0.9, h * 0.5], fill=(20, 200, 60))
    d.line([0, h - 1, w - 1, 0], fill=(250, 250, 250), width=2)
    px = np.asarray(im).astype(int) + rng.integers(-12, 13, size=(h, w, 3))
    return Image.fromarray(np.clip(px, 0, 255).astype(np.uint8), "RGB")


def cmyk(im):
    """CMYK with a real black channel (PIL's own RGB -> CMYK leaves K at 0): K a diagonal ramp."""
    rgb = np.asarray(im).astype(int)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    k = (xx + yy) * 220 // (w + h - 2)
    return Image.fromarray(np.dstack([255 - rgb, k]).astype(np.uint8), "CMYK")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/jpeg"
    os.makedirs(out, exist_ok=True)
    src = picture(64, 48, 0)
    odd = picture(37, 29, 1)
    cases = {
        "ycc420": (src, dict(quality=90, subsampling=2)),
        "ycc422": (src, dict(quality=90, subsampling=1)),
        "ycc444": (src, dict(quality=90, subsampling=0)),
        "grey": (src.convert("L"), dict(quality=90)),
        "progressive": (src, dict(quality=85, subsampling=2, progressive=True)),
        "odd_37x29": (odd, dict(quality=90, subsampling=2)),
        "cmyk": (cmyk(src), dict(quality=90)),
    }
    for name, (im, opts) in cases.items():
        path = os.path.join(out, name + ".jpg")
        im.save(path, "JPEG", **opts)
        Image.open(path).convert("RGB").save(os.path.join(out, name + ".png"))
    data = bytearray(open(os.path.join(out, "ycc420.jpg"), "rb").read())
    middle = (data.rfind(b"\xff\xda") + len(data)) // 2  # inside the last (only) scan's data
    data[middle:middle + 8] = b"\x00\xff\xd3\x17\x55\xaa\x00\x00"
    with open(os.path.join(out, "corrupt_scan.jpg"), "wb") as f:
        f.write(data)
    Image.open(os.path.join(out, "corrupt_scan.jpg")).convert("RGB").save(os.path.join(out, "corrupt_scan.png"))
    print("libjpeg-turbo", features.version("jpg"), "wrote", sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
