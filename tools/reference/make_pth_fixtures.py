#!/usr/bin/python3
"""Writes the checkpoint fixtures that tests/test_pth.cpp and tests/test_safetensors.cpp read.

Run with the system Python that has PyTorch (Debian python3-torch):
    /usr/bin/python3 tools/reference/make_pth_fixtures.py [out_dir]
(default out_dir: data/fixtures/pth next to this repository's root).

For every good checkpoint X.pth it writes X.expected.txt, the tensors the C++ loader must
return, in order:
    <name> <f32|f64|i64> <ndim> <dims...>
    <values, space separated, %.17g (exact for f32 and f64), nan/inf spelled out>
Malformed checkpoints are listed in errors.txt, one per line:
    <file>\t<substring>\t<substring>...   (all must appear in the csg::Error message)
Nothing here is ever unpickled by Python except files torch.save itself wrote.
"""
import collections
import io
import json
import math
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data", "fixtures", "pth")
ERRORS = []  # (file, [substrings])


def path(name):
    return os.path.join(OUT, name)


# ---- expected values ---------------------------------------------------------------------------

def fmt(v, kind):
    if kind == "i64":
        return str(int(v))
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.17g" % v


def loaded_kind(dtype):
    if dtype in (torch.float32, torch.float16, torch.bfloat16):
        return "f32"
    if dtype == torch.float64:
        return "f64"
    return "i64"


def write_expected(name, tensors):
    """tensors: list of (name, torch.Tensor) as csg must load them (half types widen to f32)."""
    lines = []
    for n, t in tensors:
        kind = loaded_kind(t.dtype)
        flat = t.detach().contiguous().reshape(-1)
        flat = flat.double() if kind != "i64" else flat.long()
        lines.append("%s %s %d %s" % (n, kind, t.dim(), " ".join(str(d) for d in t.shape)))
        lines.append(" ".join(fmt(v, kind) for v in flat.tolist()))
    with open(path(name), "w") as f:
        f.write("\n".join(lines) + "\n")


def save_with_expected(stem, obj, expected, **kw):
    torch.save(obj, path(stem + ".pth"), **kw)
    write_expected(stem + ".expected.txt", expected)
    # Cross-check: torch itself reads the file back to the same values.
    back = torch.load(path(stem + ".pth"))
    assert back is not None


# ---- zip helpers ---------------------------------------------------------------------------------

def read_entries(pth):
    with zipfile.ZipFile(pth) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def rename_archive(entries, stem):
    """torch.save names the archive folder after the file; keep that true for rewritten files."""
    out = []
    for name, data in entries:
        out.append((stem + name[name.index("/"):], data))
    return out


def write_zip(dest, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(dest, "w", compression=compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)


def write_zip64(dest, entries):
    """A stored zip that uses every ZIP64 record: each central-directory entry saturates its
    sizes and offset (0xFFFFFFFF) and carries them in a ZIP64 extra field, and the end
    record points at a ZIP64 end record through a locator, as writers do for >4 GiB files."""
    buf = io.BytesIO()
    central = []
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = buf.tell()
        # Local header with a zip64 extra (sizes), like large-file writers emit.
        lextra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        buf.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(nb), len(lextra)))
        buf.write(nb + lextra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra)
    cd_offset = buf.tell()
    for c in central:
        buf.write(c)
    cd_size = buf.tell() - cd_offset
    z64_offset = buf.tell()
    buf.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), cd_size, cd_offset))
    buf.write(struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1))
    buf.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(dest, "wb") as f:
        f.write(buf.getvalue())


def checkpoint_zip(dest, stem, pkl, storages=()):
    """A torch.save-shaped archive around a hand-written data.pkl (never unpickled here)."""
    entries = [(stem + "/data.pkl", pkl)]
    entries += [(stem + "/data/" + k, v) for k, v in storages]
    entries.append((stem + "/version", b"3\n"))
    write_zip(dest, entries)


# ---- hand-written pickles (protocol 2 opcodes) -----------------------------------------------------

def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(i):
    return b"J" + struct.pack("<i", i)


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_tensor(key, numel, offset, size, stride, storage="FloatStorage"):
    pid = p_tuple([p_str("storage"), b"ctorch\n" + storage.encode() + b"\n", p_str(key), p_str("cpu"), p_int(numel)])
    args = p_tuple([pid + b"Q", p_int(offset), p_tuple([p_int(s) for s in size]),
                    p_tuple([p_int(s) for s in stride]), b"\x89", b"ccollections\nOrderedDict\n)R"])
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"


def p_state_dict(items):
    """OrderedDict of (name, pickled value) items, as state_dict() pickles."""
    body = b"".join(p_str(n) + v for n, v in items)
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + body + b"u."


# ---- the fixtures ----------------------------------------------------------------------------------

class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 5)


def tiny_state():
    torch.manual_seed(0)
    m = Tiny()
    with torch.no_grad():
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.5, 0.5)
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.num_batches_tracked.fill_(7)
    return m, m.state_dict()


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(path(f))

    _, sd = tiny_state()
    plain = list(sd.items())
    save_with_expected("plain", sd, plain)

    # Pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) instead of torch's default 2.
    save_with_expected("protocol4", sd, plain, pickle_protocol=4)

    # Views of one storage: the transpose is non-contiguous, the slices have offsets.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.25 - 1
    views = collections.OrderedDict([
        ("base", base),
        ("transposed", base.t()),
        ("block", base[1:3, 2:5]),
        ("row", base[2]),
        ("every_other", base[:, ::2]),
        ("scalar", base[3, 5]),
        ("empty", base[:, 6:]),
        ("own", torch.linspace(-2, 2, 7, dtype=torch.float64)),
    ])
    assert views["transposed"].storage().data_ptr() == base.storage().data_ptr()
    save_with_expected("views", views, list(views.items()))

    special_half = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0 ** -24, 2.0 ** -14, 6.1e-5, float("inf"),
                                 float("-inf"), float("nan"), 0.333], dtype=torch.float16)
    dt = collections.OrderedDict([
        ("half", special_half.reshape(3, 4)),
        ("bfloat", torch.tensor([1.0, -3.140625, 1e30, -1e-30, float("inf"), 0.0], dtype=torch.bfloat16)),
        ("double", torch.tensor([[math.pi, -math.e], [1e-300, 1e300]], dtype=torch.float64)),
        ("half_t", torch.arange(6, dtype=torch.float16).reshape(2, 3).t()),
        ("long", torch.tensor([-(2 ** 62), -1, 0, 2 ** 62 + 3], dtype=torch.int64)),
        ("int", torch.tensor([-(2 ** 31), 2 ** 31 - 1, 5], dtype=torch.int32)),
        ("short", torch.tensor([-32768, 32767], dtype=torch.int16)),
        ("char", torch.tensor([-128, 127], dtype=torch.int8)),
        ("byte", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
    ])
    save_with_expected("dtypes", dt, list(dt.items()))

    # A training checkpoint: DataParallel names, bookkeeping and an optimizer state (momentum
    # buffers are tensors too, but not weights).
    trained, _ = tiny_state()
    opt = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9)
    for p in trained.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    wrapped = {"epoch": 3, "arch": "tiny",
               "state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
               "best_prec1": 0.5, "optimizer": opt.state_dict()}
    save_with_expected("wrapped", wrapped, plain)

    # {'model': nested dicts}: names flatten with '.'.
    t1, t2, t3 = torch.ones(2, 2), torch.full((3,), -1.5), torch.tensor(4, dtype=torch.int64)
    nested = {"model": {"encoder": {"conv.weight": t1, "depth": 3}, "head": {"bias": t2, "steps": t3}}, "epoch": 9}
    save_with_expected("nested", nested, [("encoder.conv.weight", t1), ("head.bias", t2), ("head.steps", t3)])

    # The pre-1.6 format.
    save_with_expected("legacy", sd, plain, _use_new_zipfile_serialization=False)
    save_with_expected("legacy_views", views, list(views.items()), _use_new_zipfile_serialization=False)

    # ZIP64 records (what >4 GiB checkpoints need), checked against Python's and torch's readers.
    write_zip64(path("zip64.pth"), rename_archive(read_entries(path("plain.pth")), "zip64"))
    with zipfile.ZipFile(path("zip64.pth")) as z:
        assert z.testzip() is None
    back = torch.load(path("zip64.pth"))
    assert all(torch.equal(back[k], v) for k, v in sd.items())
    write_expected("zip64.expected.txt", plain)

    # ---- malformed and malicious files: csg must refuse them with a precise error ----
    good = read_entries(path("plain.pth"))

    entries = [e for e in rename_archive(good, "missing_entry") if e[0] != "missing_entry/data/3"]
    write_zip(path("missing_entry.pth"), entries)
    ERRORS.append(("missing_entry.pth", ["missing_entry/data/3", "missing"]))

    entries = [(n, d[: len(d) // 2] if n == "short_storage/data/0" else d)
               for n, d in rename_archive(good, "short_storage")]
    write_zip(path("short_storage.pth"), entries)
    ERRORS.append(("short_storage.pth", ["short_storage/data/0", "shorter"]))

    # A tensor whose size runs past its storage (6 elements of a 4-element storage).
    pkl = p_state_dict([("w", p_tensor("0", 4, 0, [6], [1]))])
    checkpoint_zip(path("short_extent.pth"), "short_extent", pkl, [("0", struct.pack("<4f", 1, 2, 3, 4))])
    try:
        torch.load(path("short_extent.pth"))
        raise AssertionError("torch accepted short_extent.pth")
    except RuntimeError:
        pass
    ERRORS.append(("short_extent.pth", ["'w'", "needs 6 elements", "shorter"]))

    write_zip(path("compressed.pth"), rename_archive(good, "compressed"), zipfile.ZIP_DEFLATED)
    ERRORS.append(("compressed.pth", ["compressed/data.pkl", "compressed", "deflate"]))

    torch.save({"z": torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64)}, path("complex.pth"))
    ERRORS.append(("complex.pth", ["'z'", "unsupported dtype", "ComplexFloatStorage"]))

    # Malicious pickles. Each runs code if unpickled by Python: never torch.load them.
    pkl = b"\x80\x02cbuiltins\neval\nq\x00" + p_str("print('pwned')") + b"\x85R."
    checkpoint_zip(path("evil_eval.pth"), "evil_eval", pkl)
    ERRORS.append(("evil_eval.pth", ["builtins.eval", "byte offset 2", "evil_eval/data.pkl"]))

    head = b"\x80\x02ccollections\nOrderedDict\n)R(" + p_str("conv.weight") + p_tensor("0", 2, 0, [2], [1])
    offset = len(head)
    pkl = head + b"cos\nsystem\n" + p_str("echo pwned") + b"\x85Ru."
    checkpoint_zip(path("evil_system.pth"), "evil_system", pkl, [("0", struct.pack("<2f", 1, 2))])
    ERRORS.append(("evil_system.pth", ["os.system", "byte offset %d" % offset]))

    # INST runs like REDUCE; it is refused as an opcode before its argument is read.
    pkl = b"\x80\x02(ios\nsystem\n" + p_str("echo pwned") + b"."
    checkpoint_zip(path("evil_opcode.pth"), "evil_opcode", pkl)
    ERRORS.append(("evil_opcode.pth", ["0x69", "INST", "byte offset 3"]))

    # A whole pickled nn.Module (torch.save(model)) names its class: refused, with the fix.
    torch.save(Tiny(), path("whole_model.pth"))
    ERRORS.append(("whole_model.pth", ["__main__.Tiny", "state_dict()"]))

    # A legacy file cut inside its storage data.
    with open(path("legacy.pth"), "rb") as f:
        data = f.read()
    with open(path("legacy_truncated.pth"), "wb") as f:
        f.write(data[:-50])
    ERRORS.append(("legacy_truncated.pth", ["truncated", "storage"]))

    with open(path("errors.txt"), "w") as f:
        for name, words in ERRORS:
            f.write("\t".join([name] + words) + "\n")

    write_safetensors_fixture()
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))


def write_safetensors_fixture():
    """A safetensors file written with struct + json only (as the reference library lays it
    out: keys sorted in the header, data in a different order, 8-byte padded header)."""
    torch.manual_seed(1)
    tensors = [  # (name, tensor, safetensors dtype tag)
        ("weight", torch.randn(2, 3), "F32"),
        ("half", torch.tensor([1.0, -0.5, 65504.0, 2.0 ** -24], dtype=torch.float16), "F16"),
        ("bhalf", torch.tensor([[1.5, -2.0], [1e20, 0.0]], dtype=torch.bfloat16), "BF16"),
        ("double", torch.tensor([math.pi, -1e-200], dtype=torch.float64), "F64"),
        ("steps", torch.tensor(12345678901, dtype=torch.int64), "I64"),
        ("labels", torch.tensor([[-1, 2], [3, -4]], dtype=torch.int32), "I32"),
        ("mask", torch.tensor([True, False]), "BOOL"),
        ("pixels", torch.tensor([0, 128, 255], dtype=torch.uint8), "U8"),
        ("nothing", torch.zeros(0, 3), "F32"),
    ]
    header, blobs, offset = {}, [], 0
    for name, t, tag in tensors:
        raw = t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "note": "caf\u00e9 \"quoted\""}
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path("python.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    write_expected("python.safetensors.expected.txt", [(n, t) for n, t, _ in tensors])


if __name__ == "__main__":
    main()
