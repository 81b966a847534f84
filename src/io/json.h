// src/io/json.h — a small JSON reader/writer for file headers (safetensors).
//
// Objects keep their key order. Integers are kept exactly as int64 (safetensors offsets
// can exceed 2^53); other numbers are doubles. Errors name the source and byte position.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace csg::io::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  bool is_integer = false;  // Number written without fraction or exponent, fitting int64
  int64_t integer = 0;
  double number = 0;
  std::string text;                                     // String
  std::vector<Value> items;                             // Array
  std::vector<std::pair<std::string, Value>> members;   // Object, in file order
  size_t position = 0;                                  // byte where the value starts

  const char* kind_name() const;
  const Value* find(const std::string& key) const;      // Object member or nullptr
};

// Parses a whole document (surrounding whitespace allowed). `where` prefixes errors, e.g.
// "/m/model.safetensors: header".
Value parse(const std::string& text, const std::string& where);

// A JSON string literal (quotes included) for `s`. Bytes that are not UTF-8 (a file name in
// Latin-1) are written as \udc80..\udcff, as Python's surrogateescape does; parse() reads such an
// escape back as the byte, so any byte string makes the round trip.
std::string quote(const std::string& s);

}  // namespace csg::io::json
