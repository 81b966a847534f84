"""safetensors read and written by hand (numpy only, no extra package) for the fixture and benchmark
scripts: F32, F64 and I64 arrays, an optional string metadata map, atomic writes (temp file + rename).
The C++ side reads these files with csg::load_safetensors."""
import json
import os
import struct

import numpy as np

_DTYPE = {"F32": np.dtype("float32"), "F64": np.dtype("float64"), "I64": np.dtype("int64")}
_NAME = {v: k for k, v in _DTYPE.items()}


def save_safetensors(path, arrays, metadata=None):
    """arrays: name -> numpy array (float32, float64 or int64), written in the given order."""
    header, blobs, offset = {"__metadata__": dict(metadata or {})}, [], 0
    for name, a in arrays.items():
        a = np.asarray(a, order="C")  # (np.ascontiguousarray would turn a 0-d array into shape [1])
        if a.dtype not in _NAME:
            raise ValueError(f"{path}: tensor {name} has dtype {a.dtype}; expected float32, float64 or int64")
        data = a.tobytes()
        header[name] = {"dtype": _NAME[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """Returns (name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out, base = {}, 8 + n
    for name, e in header.items():
        if e["dtype"] not in _DTYPE:
            raise ValueError(f"{path}: tensor {name} has dtype {e['dtype']}; expected F32, F64 or I64")
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + end], dtype=_DTYPE[e["dtype"]]).reshape(e["shape"]).copy()
    return out, meta
