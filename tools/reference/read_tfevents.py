#!/usr/bin/env python3
"""Reads a TensorBoard events file with the protobuf library (Debian's python3-protobuf) and prints
its records as JSON: the independent oracle for csg's own writer (tests/test_tensorboard.cpp).

    /usr/bin/python3 tools/reference/read_tfevents.py runs/visda/events.out.tfevents.*

Neither tensorflow nor tensorboard is needed: the Event, Summary and Summary.Value messages are
declared here with the field numbers and types of tensorboard/compat/proto/event.proto and
summary.proto (only the fields csg writes; protobuf keeps the others as unknown fields). Both
CRC-32C of every record are checked with the CRC implemented below, not with csg's.

Output: {"path": ..., "records": [{"offset", "wall_time", "step", "file_version" | "values",
"canonical"}]}, "values" a list of {"tag", "simple_value_bits" (the float32's bits as an integer,
so NaN and infinities compare exactly), "simple_value" (null when not finite)}; "canonical" says
whether protobuf serializes the parsed Event back to exactly the record's bytes. A bad CRC, a
truncated record or an Event protobuf cannot parse exits with status 1 and says where.
"""
import json
import math
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _field(message, name, number, type_, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = message.field.add(name=name, number=number, type=type_, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def event_class():
    """tensorboard.Event, built from a FileDescriptorProto (no generated _pb2 module)."""
    fdp = descriptor_pb2.FileDescriptorProto(name="csg_tfevents_oracle.proto", package="tensorboard",
                                             syntax="proto3")
    summary = fdp.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    _field(value, "tag", 1, F.TYPE_STRING)
    _field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    _field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tensorboard.Summary.Value")
    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    _field(event, "wall_time", 1, F.TYPE_DOUBLE)
    _field(event, "step", 2, F.TYPE_INT64)
    _field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    _field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tensorboard.Summary", oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    descriptor = pool.FindMessageTypeByName("tensorboard.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def records(path, data):
    """(offset, payload) of every record, both CRCs checked."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < 12:
            raise ValueError(f"{path}: truncated record header at byte {offset}")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if length_crc != masked_crc32c(header):
            raise ValueError(f"{path}: bad length CRC in the record at byte {offset}")
        end = offset + 12 + length
        if end + 4 > len(data):
            raise ValueError(f"{path}: truncated record at byte {offset} ({length} data bytes announced)")
        payload = data[offset + 12:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if data_crc != masked_crc32c(payload):
            raise ValueError(f"{path}: bad data CRC in the record at byte {offset}")
        yield offset, payload
        offset = end + 4


def describe(event_type, offset, payload):
    event = event_type()
    event.ParseFromString(payload)
    out = {"offset": offset, "wall_time": event.wall_time, "step": event.step,
           "canonical": event.SerializeToString() == payload}
    what = event.WhichOneof("what")
    if what == "file_version":
        out["file_version"] = event.file_version
    elif what == "summary":
        out["values"] = []
        for v in event.summary.value:
            entry = {"tag": v.tag}
            if v.WhichOneof("value") == "simple_value":
                (bits,) = struct.unpack("<I", struct.pack("<f", v.simple_value))
                entry["simple_value_bits"] = bits
                entry["simple_value"] = v.simple_value if math.isfinite(v.simple_value) else None
            out["values"].append(entry)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: read_tfevents.py EVENTS_FILE")
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = f.read()
    event_type = event_class()
    try:
        parsed = [describe(event_type, offset, payload) for offset, payload in records(path, data)]
    except Exception as e:  # a CRC, a truncation or protobuf's DecodeError: say which, fail
        print(f"read_tfevents.py: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump({"path": path, "records": parsed}, sys.stdout, allow_nan=False)
    print()


if __name__ == "__main__":
    main()
