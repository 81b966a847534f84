// src/io/pickle.h — a restricted unpickler for PyTorch checkpoints (torch.save output).
//
// It understands the opcodes that pickle protocols 2-5 use for plain data (dicts, lists,
// tuples, ints, floats, strings, bools, None, memo) plus the few torch needs to rebuild
// tensors, and it evaluates NOTHING: a GLOBAL is accepted only if it is one of
//   collections.OrderedDict
//   torch._utils._rebuild_tensor / _rebuild_tensor_v2 / _rebuild_parameter /
//   _rebuild_parameter_with_state
//   torch.<Type>Storage (FloatStorage, HalfStorage, ... : the storage's element type)
// and REDUCE only "calls" those, symbolically: OrderedDict() makes a dict, the rebuild
// functions make a TensorRef (storage + offset + shape + strides), nothing more. Persistent
// ids (BINPERSID) must be torch.serialization's ('storage', storage_type, key, location,
// numel[, view_metadata]) tuples and become a StorageRef. Any other global (builtins.eval,
// os.system, a class) or opcode is refused with an error naming it and its byte offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csg/tensor.h"

namespace csg::io::pickle {

// A storage named by a persistent id. In the zip format its bytes are the entry
// "<archive>/data/<key>"; in the legacy format they follow the pickles.
struct StorageRef {
  std::string type;      // "FloatStorage", "HalfStorage", ...
  std::string key;       // storage key
  std::string location;  // "cpu", "cuda:0", ...
  int64_t numel = 0;     // elements of `type` in the (root) storage
  // Legacy format only: a view of the root storage, [view_offset, view_offset + view_numel).
  bool is_view = false;
  int64_t view_offset = 0;
  int64_t view_numel = 0;
  size_t pickle_offset = 0;  // where its persistent id was read (for errors)
};

// What torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) describes.
struct TensorRef {
  std::shared_ptr<const StorageRef> storage;
  int64_t offset = 0;  // elements, into the storage (or its view)
  Shape shape;
  Shape strides;  // elements
  size_t pickle_offset = 0;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  // String/Bytes: the contents. Global: "module.name". BigInt: little-endian two's
  // complement bytes of an integer wider than 64 bits.
  std::string text;
  std::vector<ValuePtr> items;                          // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;   // Dict, in insertion order
  std::shared_ptr<const StorageRef> storage;            // Storage
  std::shared_ptr<const TensorRef> tensor;              // Tensor

  const char* kind_name() const;
  // The dict value under a string key, or nullptr (Dict only).
  ValuePtr get(const std::string& key) const;
};

struct Unpickled {
  ValuePtr value;
  size_t end = 0;  // offset just past the STOP opcode, relative to `data`
};

// Unpickles one object from data[0, size). `where` prefixes every error (e.g.
// "/m/resnet.pth (archive/data.pkl)"); reported byte offsets are base_offset + position,
// so a caller that passes a slice of a file can report file offsets.
Unpickled unpickle(const uint8_t* data, size_t size, const std::string& where, size_t base_offset = 0);

}  // namespace csg::io::pickle
