#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets in tools/fuzz/.

    /usr/bin/python3 tools/fuzz/make_corpus.py build-san/corpus-seed

Writes <out>/<target>/ for every target: the valid (and deliberately invalid) files under
data/fixtures/ the target reads, small files generated here where the fixtures have none
(csg checkpoints, palette/grey label PNGs, image lists, BMP/JPEG/GIF images, TensorBoard
events files), and a few truncations of each seed so the fuzzer starts next to the
"truncated file" paths. Only the standard library is needed (Pillow, when present, adds
JPEG/BMP/GIF seeds). Output is deterministic; re-running replaces the directories.
"""
import json
import os
import shutil
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "data" / "fixtures"
MAX_SEED_BYTES = 64 * 1024  # libFuzzer's -max_len is set from the largest seed; keep it small


def truncations(data):
    """A few prefixes: inside the header, half way, and one byte short."""
    cuts = {8, 24, len(data) // 2, len(data) - 1}
    return [data[:c] for c in sorted(cuts) if 0 < c < len(data)]


def safetensors_bytes(tensors, metadata):
    """tensors: list of (name, dtype, shape, raw bytes). Same layout save_safetensors writes."""
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli, reflected 0x82F63B78), as src/io/crc32c.cpp computes it."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def checksummed_safetensors_bytes(tensors, metadata):
    """safetensors_bytes with the CRC-32C entries csg's writer adds (csg/io/safetensors.h), so the
    fuzzers start next to a file whose checksums hold."""
    meta = dict(metadata)
    for name, _, _, raw in tensors:
        meta["crc32c." + name] = f"{crc32c(raw):08x}"
    meta["crc32c"] = "00000000"
    meta = dict(sorted(meta.items()))
    data = safetensors_bytes(tensors, meta)
    field = data.index(b'"crc32c":"') + len(b'"crc32c":"')
    end = 8 + struct.unpack("<Q", data[:8])[0]
    digits = f"{crc32c(data[:end]):08x}".encode()
    return data[:field] + digits + data[field + 8:]


def checkpoints():
    w = struct.pack("<6f", 0.5, -1.0, 2.0, 3.25, 0.0, -7.5)
    m = struct.pack("<6f", *([0.125] * 6))
    q = struct.pack("<4d", 1.0, 2.0, 3.0, 4.0)
    step = struct.pack("<q", 12)
    meta = {"format": "csg-checkpoint", "format_version": "1", "step": "12", "epoch": "1",
            "seed": "1234", "rng_offset": "987654321", "config": "arch=resnet101 lr=0.0001"}
    yield "ckpt_full.ckpt", safetensors_bytes(
        [("model.fc.weight", "F32", (2, 3), w), ("optim.momentum.model.fc.weight", "F32", (2, 3), m),
         ("queue", "F64", (2, 2), q), ("step", "I64", (), step)], meta)
    yield "ckpt_checksummed.ckpt", checksummed_safetensors_bytes(
        [("model.fc.weight", "F32", (2, 3), w), ("queue", "F64", (2, 2), q)], meta)
    yield "ckpt_empty.ckpt", safetensors_bytes([], {"format": "csg-checkpoint", "format_version": "1"})
    yield "ckpt_newer.ckpt", safetensors_bytes([("a", "F32", (1,), w[:4])],
                                               {"format": "csg-checkpoint", "format_version": "2"})
    yield "ckpt_badint.ckpt", safetensors_bytes([("a", "F32", (1,), w[:4])],
                                                {"format": "csg-checkpoint", "format_version": "1", "step": "12x"})


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def pack_row(values, depth):
    if depth == 8:
        return bytes(values)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(values), per):
        byte = 0
        for j, v in enumerate(values[i:i + per]):
            byte |= (v & ((1 << depth) - 1)) << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def label_png(width, height, colour_type, depth, interlace, filt):
    """A label PNG (palette or grey) whose values are (x + 2y) mod 2^depth, rows filtered with
    filter type `filt` (0 none, 1 sub, 2 up: simple enough to write here; the reader undoes all)."""
    vals = [[(x + 2 * y) % (1 << depth) for x in range(width)] for y in range(height)]
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        rows = [[vals[y][x] for x in range(x0, width, dx)] for y in range(y0, height, dy)]
        if not rows or not rows[0]:
            continue
        prev = None
        bpp = 1
        for r in rows:
            line = pack_row(r, depth)
            if filt == 1:
                line2 = bytes((line[i] - (line[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(line)))
            elif filt == 2:
                line2 = bytes((line[i] - (prev[i] if prev else 0)) & 0xFF for i in range(len(line)))
            else:
                line2 = line
            raw += bytes([filt]) + line2
            prev = line
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if colour_type == 3:
        out += png_chunk(b"PLTE", bytes(c for i in range(1 << depth) for c in (i * 7 % 256, i * 13 % 256, i * 29 % 256)))
    out += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b"")
    return out


def label_pngs():
    for ct in (0, 3):
        for depth in (1, 2, 4, 8):
            for interlace in (0, 1):
                filt = (depth + interlace) % 3
                yield f"label_ct{ct}_d{depth}_i{interlace}.png", label_png(11, 7, ct, depth, interlace, filt)
    yield "label_1x1.png", label_png(1, 1, 3, 8, 0, 0)
    yield "label_rgb.png", (FIX / "image" / "resize_20x15.png").read_bytes()  # refused colour type


def image_lists():
    yield "list_visda.txt", b"".join(
        f"train/aeroplane/src_1_02691156_{i:04x}.png {i % 12}\n".encode() for i in range(12))
    yield "list_crlf_spaces.txt", b"validation/my dir/a b.jpg 3\r\n\r\n  c.jpg\t11\r\n"
    yield "list_errors.txt", b"x.jpg\ny.jpg 12\nz.jpg -1\nw.jpg 1e3\nv.jpg 99999999999999999999\n"
    yield "list_abs.txt", b"/abs/path.png 0\n"


def extra_images():
    try:
        from PIL import Image
    except ImportError:
        return
    import io
    im = Image.new("RGB", (9, 6))
    im.putdata([((x * 31) % 256, (y * 47) % 256, (x * y * 5) % 256) for y in range(6) for x in range(9)])
    for fmt, opts in (("JPEG", {"quality": 80}), ("JPEG", {"quality": 90, "progressive": True}),
                      ("BMP", {}), ("GIF", {}), ("PPM", {}), ("TGA", {})):
        buf = io.BytesIO()
        im.save(buf, fmt, **opts)
        yield f"img_{fmt.lower()}{'_prog' if opts.get('progressive') else ''}.{fmt.lower()}", buf.getvalue()
    for mode in ("L", "LA", "RGBA", "P"):
        buf = io.BytesIO()
        im.convert(mode).save(buf, "PNG")
        yield f"img_{mode}.png", buf.getvalue()


def _crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF  # TFRecord's mask


def _varint(v):
    v &= (1 << 64) - 1  # an int64 as protobuf writes it: two's complement
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    return bytes(out + bytes([v]))


def _pb_bytes(field, payload):
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def tfrecord(data):
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _crc32c(length)) + data + struct.pack("<I", _crc32c(data))


def tfevents():
    """TensorBoard events files as TensorBoardWriter writes them (Event: wall_time 1, step 2,
    file_version 3, summary 5; Summary.Value: tag 1, simple_value 2), and a few variations."""
    def event(step, what):
        return b"\x09" + struct.pack("<d", 1.7e9 + step) + (b"\x10" + _varint(step) if step else b"") + what

    def scalars(*pairs):
        values = b"".join(_pb_bytes(1, _pb_bytes(1, tag.encode()) + b"\x15" + struct.pack("<f", v)) for tag, v in pairs)
        return _pb_bytes(5, values)

    header = tfrecord(event(0, _pb_bytes(3, b"brain.Event:2")))
    yield "events_header_only.tfevents", header
    yield "events_scalars.tfevents", header + b"".join(
        tfrecord(event(step, scalars(("train/loss", 2.3 / step), ("train/lr", 1e-3)))) for step in (1, 10, 1 << 40))
    yield "events_negative_step.tfevents", header + tfrecord(event(-5, scalars(("nan", float("nan")))))
    yield "events_unknown_fields.tfevents", header + tfrecord(
        event(3, _pb_bytes(4, b"graph") + scalars(("x", 1.0)) + b"\x52\x02\x0a\x00"))  # graph_def, source_metadata
    yield "events_no_file_version.tfevents", tfrecord(event(1, scalars(("x", 1.0))))
    # "EV" + one Event's bytes (fuzz_tfevents frames it itself, so mutations reach the decoder);
    # field 12, a fixed32 the Event does not define, is skipped as protobuf skips unknown fields.
    yield "payload_scalars.ev", b"EV" + event(7, scalars(("train/loss", 0.5), ("val/acc", 0.25)))
    yield "payload_unknown_fields.ev", b"EV" + event(8, b"\x65\x00\x00\x00\x00" + scalars(("t", -1.0)))


def tiny_resnet18(width=1, classes=2):
    """A ResNet-18 state dict at width 1 (a few KB), torchvision's names, small float values."""
    tensors, k = [], [0]

    def t(name, *shape):
        n = 1
        for d in shape:
            n *= d
        k[0] += 1
        vals = [((i * 7 + k[0]) % 11 - 5) / 10.0 for i in range(n)]
        tensors.append((name, "F32", shape, struct.pack("<%df" % n, *vals)))

    def bn(prefix, c):
        t(prefix + ".weight", c), t(prefix + ".bias", c), t(prefix + ".running_mean", c)
        tensors.append((prefix + ".running_var", "F32", (c,), struct.pack("<%df" % c, *([1.0] * c))))

    t("conv1.weight", width, 3, 7, 7)
    bn("bn1", width)
    inplanes = width
    for s in range(4):
        planes = width << s
        for b in range(2):
            p = "layer%d.%d" % (s + 1, b)
            cin = inplanes if b == 0 else planes
            t(p + ".conv1.weight", planes, cin, 3, 3)
            bn(p + ".bn1", planes)
            t(p + ".conv2.weight", planes, planes, 3, 3)
            bn(p + ".bn2", planes)
            if b == 0 and (s > 0 or inplanes != planes):
                t(p + ".downsample.0.weight", planes, cin, 1, 1)
                bn(p + ".downsample.1", planes)
        inplanes = planes
    t("fc.weight", classes, inplanes)
    t("fc.bias", classes)
    return tensors


def csg_models():
    """Exported models (csg-model metadata), a bare state dict, and broken metadata."""
    info = {"arch": "resnet18", "width": 1, "num_classes": 2, "head": "fc", "task": "classification",
            "class_names": ["a", "b"], "resize": 36, "crop": 32, "input_width": 0, "input_height": 0,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    meta = {"format": "csg-model", "format_version": "1", "model": json.dumps(info, separators=(",", ":"))}
    tensors = tiny_resnet18()
    yield "model_resnet18_w1.safetensors", safetensors_bytes(tensors, meta)
    yield "state_dict_resnet18_w1.safetensors", safetensors_bytes(tensors, None)
    yield "model_missing_fc.safetensors", safetensors_bytes(tensors[:-2], meta)
    bad = dict(info, head="aspp-v2", class_names=["a"])
    yield "model_bad_head.safetensors", safetensors_bytes(tensors, dict(meta, model=json.dumps(bad)))


def files(pattern_dir, *globs):
    for g in globs:
        for p in sorted((FIX / pattern_dir).glob(g)):
            yield p.name, p.read_bytes()


def targets():
    augment = list(files("augment", "src_*.png"))[:3] + list(files("augment", "00*.png"))[:3]
    return {
        "fuzz_pth": list(files("pth", "*.pth")),
        "fuzz_safetensors": list(files("pth", "*.safetensors")) + list(files("metrics", "*.safetensors")) +
                            list(files("method", "*.safetensors")) + list(checkpoints())[:1],
        "fuzz_checkpoint": list(checkpoints()) + list(files("metrics", "*.safetensors")),
        "fuzz_image_list": list(image_lists()),
        "fuzz_label_png": list(label_pngs()),
        "fuzz_image_decode": list(files("image", "*.png")) + augment + list(extra_images()) +
                             list(files("jpeg", "*.jpg")),
        "fuzz_tfevents": list(tfevents()),
        "fuzz_model_open": list(csg_models()) + list(checkpoints())[:1] + list(files("pth", "*.pth"))[:2],
    }


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build-san" / "corpus-seed")
    for target, seeds in targets().items():
        d = out / target
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        n = 0
        for name, data in seeds:
            if len(data) > MAX_SEED_BYTES:
                continue
            (d / name).write_bytes(data)
            n += 1
            for i, t in enumerate(truncations(data)):
                (d / f"{name}.trunc{i}").write_bytes(t)
                n += 1
        print(f"{target}: {n} seeds in {d}")


if __name__ == "__main__":
    main()
