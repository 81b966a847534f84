// src/io/protobuf_wire.h — the protocol-buffer wire format, by hand: enough to write and read
// TensorBoard's Event / Summary / Value messages without a protobuf library.
//
// A message is a sequence of fields, each a key varint (field_number << 3 | wire_type) and a
// payload: a varint, 8 or 4 little-endian bytes, or a varint length and that many bytes
// (strings, bytes and nested messages). Writers emit fields in the order they are called.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace csg::io::protobuf {

enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5 };

void put_varint(std::string& out, uint64_t value);
void put_key(std::string& out, int field, WireType type);
void put_double(std::string& out, int field, double value);  // double: Fixed64
void put_float(std::string& out, int field, float value);    // float: Fixed32
// int64: the varint of the two's complement, so a negative value takes 10 bytes.
void put_int64(std::string& out, int field, int64_t value);
// string, bytes or an already encoded nested message.
void put_bytes(std::string& out, int field, std::string_view bytes);

// One decoded field; `bytes` points into the message being read.
struct Field {
  int number = 0;
  WireType type = WireType::Varint;
  uint64_t varint = 0;     // Varint
  uint64_t fixed = 0;      // Fixed64 / Fixed32: the raw little-endian bits
  std::string_view bytes;  // LengthDelimited

  double as_double() const;  // Fixed64 bits as a double
  float as_float() const;    // Fixed32 bits as a float
};

// Walks the fields of one message. Errors (csg::Error) start with `where` and give the byte
// offset inside the message: a truncated field, a varint over 10 bytes, field number 0,
// groups or an unknown wire type.
class WireReader {
 public:
  WireReader(std::string_view message, std::string where);
  bool next(Field& field);  // false at the end of the message

 private:
  uint64_t read_varint(const char* what);

  std::string_view message_;
  std::string where_;
  size_t pos_ = 0;
};

// Proto3 `string` fields must hold UTF-8; parsers reject a message with anything else.
bool is_valid_utf8(std::string_view text);

}  // namespace csg::io::protobuf
