// src/io/protobuf_wire.cpp — varints, tagged fields, and a reader that refuses malformed input.
#include "src/io/protobuf_wire.h"

#include <cstring>

#include "csg/error.h"

namespace csg::io::protobuf {

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_key(std::string& out, int field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(type));
}

namespace {
void put_le(std::string& out, uint64_t bits, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}
}  // namespace

void put_double(std::string& out, int field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, WireType::Fixed64);
  put_le(out, bits, 8);
}

void put_float(std::string& out, int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, WireType::Fixed32);
  put_le(out, bits, 4);
}

void put_int64(std::string& out, int field, int64_t value) {
  put_key(out, field, WireType::Varint);
  put_varint(out, static_cast<uint64_t>(value));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, WireType::LengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

double Field::as_double() const {
  double v;
  std::memcpy(&v, &fixed, sizeof v);
  return v;
}

float Field::as_float() const {
  const uint32_t bits = static_cast<uint32_t>(fixed);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

WireReader::WireReader(std::string_view message, std::string where) : message_(message), where_(std::move(where)) {}

uint64_t WireReader::read_varint(const char* what) {
  const size_t start = pos_;
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    CSG_CHECK(pos_ < message_.size(), where_, ": truncated ", what, " at byte ", start, " of a ", message_.size(),
              "-byte message");
    const uint8_t byte = static_cast<uint8_t>(message_[pos_++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return value;
  }
  CSG_FAIL(where_, ": ", what, " at byte ", start, " is longer than 10 bytes");
}

bool WireReader::next(Field& field) {
  if (pos_ == message_.size()) return false;
  const size_t start = pos_;
  const uint64_t key = read_varint("field key");
  const uint64_t number = key >> 3;
  CSG_CHECK(number >= 1 && number < (1u << 29), where_, ": invalid field number ", number, " at byte ", start);
  field = Field();
  field.number = static_cast<int>(number);
  const size_t left = message_.size() - pos_;
  switch (key & 7) {
    case 0:
      field.type = WireType::Varint;
      field.varint = read_varint("varint field");
      return true;
    case 1:
    case 5: {
      const size_t n = (key & 7) == 1 ? 8 : 4;
      field.type = n == 8 ? WireType::Fixed64 : WireType::Fixed32;
      CSG_CHECK(n <= left, where_, ": truncated ", n * 8, "-bit field ", number, " at byte ", start);
      for (size_t i = 0; i < n; ++i)
        field.fixed |= static_cast<uint64_t>(static_cast<uint8_t>(message_[pos_ + i])) << (8 * i);
      pos_ += n;
      return true;
    }
    case 2: {
      field.type = WireType::LengthDelimited;
      const uint64_t n = read_varint("length");
      CSG_CHECK(n <= message_.size() - pos_, where_, ": field ", number, " at byte ", start, " claims ", n,
                " bytes but the message has ", message_.size() - pos_, " left");
      field.bytes = message_.substr(pos_, n);
      pos_ += n;
      return true;
    }
    default:
      CSG_FAIL(where_, ": field ", number, " at byte ", start, " has wire type ", key & 7,
               " (groups and unknown types are not part of the event format)");
  }
}

bool is_valid_utf8(std::string_view text) {
  // The shortest code point each sequence length may encode (anything below is overlong).
  static const uint32_t kMinForLength[4] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    size_t extra;
    uint32_t cp;
    if (lead < 0x80) {
      extra = 0, cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const uint8_t c = static_cast<uint8_t>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace csg::io::protobuf
