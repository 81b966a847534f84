#include "src/io/pickle.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "csg/error.h"
#include "src/io/binary_file.h"

namespace csg::io::pickle {
namespace {

using Kind = Value::Kind;

// Opcode bytes (Lib/pickle.py) that this reader executes.
enum Op : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BININT = 'J', BININT1 = 'K', BININT2 = 'M',
  NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T', SHORT_BINSTRING = 'U', BINUNICODE = 'X',
  APPEND = 'a', BUILD = 'b', GLOBAL = 'c', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', EMPTY_LIST = ']',
  BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u',
  BINFLOAT = 'G', EMPTY_DICT = '}', BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a,
  LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94, FRAME = 0x95,
};

// Names of the opcodes we refuse, so the error says what was found.
const char* refused_opcode_name(uint8_t op) {
  switch (op) {
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'P': return "PERSID";
    case 'p': return "PUT";
    case 'g': return "GET";
    case 'd': return "DICT";
    case 'l': return "LIST";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown opcode";
  }
}

const std::unordered_set<std::string>& storage_types() {
  static const std::unordered_set<std::string> s = {
      "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
      "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage",
      "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage"};
  return s;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor";
constexpr const char* kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";

bool is_storage_global(const std::string& name) {
  return name.rfind("torch.", 0) == 0 && storage_types().count(name.substr(6)) > 0;
}

bool is_allowed_global(const std::string& name) {
  return name == kOrderedDict || name == kRebuildTensor || name == kRebuildTensorV2 || name == kRebuildParameter ||
         name == kRebuildParameterWithState || is_storage_global(name);
}

ValuePtr make(Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}
ValuePtr make_int(int64_t i) {
  auto v = make(Kind::Int);
  v->integer = i;
  return v;
}
ValuePtr make_text(Kind k, std::string s) {
  auto v = make(k);
  v->text = std::move(s);
  return v;
}

bool same_key(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::String:
    case Kind::Bytes: return a.text == b.text;
    case Kind::Int: return a.integer == b.integer;
    case Kind::Bool: return a.boolean == b.boolean;
    case Kind::None: return true;
    default: return false;  // other keys compare by identity here
  }
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const std::string& where, size_t base)
      : data_(data), size_(size), where_(where), base_(base) {}

  Unpickled run() {
    while (true) {
      op_pos_ = pos_;
      CSG_CHECK(pos_ < size_, where_, ": truncated pickle: no STOP opcode before byte offset ", base_ + size_);
      const uint8_t op = data_[pos_++];
      if (op == STOP) {
        ValuePtr result = pop("STOP");
        return {result, pos_};
      }
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    CSG_FAIL(where_, ": pickle byte offset ", base_ + op_pos_, ": ", msg);
  }

  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) fail("truncated pickle: an opcode argument of " + std::to_string(n) + " bytes runs past the end");
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint8_t u8() { return *take(1); }
  uint16_t u16() { return load_le16(take(2)); }
  uint32_t u32() { return load_le32(take(4)); }
  uint64_t u64() { return load_le64(take(8)); }
  std::string bytes(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  std::string line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!nl) fail("truncated pickle: unterminated GLOBAL name");
    const size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string s = bytes(n);
    ++pos_;
    return s;
  }

  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop(const char* op) {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size()))
      fail(std::string(op) + " on an empty stack (malformed pickle)");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top(const char* op) {
    if (stack_.empty()) fail(std::string(op) + " on an empty stack (malformed pickle)");
    return *stack_.back();
  }
  std::vector<ValuePtr> pop_mark(const char* op) {
    if (marks_.empty()) fail(std::string(op) + " without a MARK (malformed pickle)");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    auto v = make(Kind::Tuple);
    v->items = std::move(items);
    return v;
  }
  void memo_put(uint64_t i) {
    if (stack_.empty()) fail("memo PUT on an empty stack (malformed pickle)");
    memo_[i] = stack_.back();
  }
  void memo_get(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) fail("memo GET of index " + std::to_string(i) + " that was never stored");
    push(it->second);
  }
  // A container put into itself, directly or through others, would form a reference cycle
  // that shared_ptr never frees (a fuzzer finding: data/fixtures/fuzz/pickle_self_appending_list.pkl).
  // State dicts are trees, so cycles are refused.
  static bool reaches(const Value& from, const Value* target) {
    if (&from == target) return true;
    for (const ValuePtr& v : from.items)
      if (v && reaches(*v, target)) return true;
    for (const auto& kv : from.entries)
      if ((kv.first && reaches(*kv.first, target)) || (kv.second && reaches(*kv.second, target))) return true;
    return false;
  }
  void check_no_cycle(const Value& container, const ValuePtr& v) {
    if (v && reaches(*v, &container)) fail("a list or dict that contains itself (a reference cycle); state dicts are trees");
  }
  void set_item(Value& dict, ValuePtr key, ValuePtr value) {
    if (dict.kind != Kind::Dict) fail(std::string("SETITEM on a ") + dict.kind_name() + ", not a dict");
    check_no_cycle(dict, key);
    check_no_cycle(dict, value);
    for (auto& kv : dict.entries)
      if (same_key(*kv.first, *key)) {
        kv.second = std::move(value);
        return;
      }
    dict.entries.emplace_back(std::move(key), std::move(value));
  }
  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!is_allowed_global(full))
      fail("global '" + full +
           "' is not allowed: a checkpoint may only reference collections.OrderedDict, torch._utils._rebuild_* "
           "and torch.*Storage (refusing to load a pickle that could run code; if the file holds a whole "
           "pickled model, re-save it from Python with torch.save(model.state_dict(), path))");
    push(make_text(Kind::Global, full));
  }
  void push_long(const uint8_t* p, size_t n) {
    if (n <= 8) {
      uint64_t u = 0;
      for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(p[i]) << (8 * i);
      if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
      push(make_int(static_cast<int64_t>(u)));
    } else {
      push(make_text(Kind::BigInt, std::string(reinterpret_cast<const char*>(p), n)));
    }
  }

  int64_t int_arg(const Value& v, const char* what) {
    if (v.kind == Kind::Int) return v.integer;
    if (v.kind == Kind::Bool) return v.boolean ? 1 : 0;
    fail(std::string(what) + " must be an int, got a " + v.kind_name());
  }
  Shape int_tuple(const Value& v, const char* what) {
    if (v.kind != Kind::Tuple && v.kind != Kind::List)
      fail(std::string(what) + " must be a tuple of ints, got a " + v.kind_name());
    Shape s;
    for (const auto& it : v.items) s.push_back(int_arg(*it, what));
    return s;
  }

  void persistent_load() {
    ValuePtr pid = pop("BINPERSID");
    const auto& it = pid->items;
    if (pid->kind != Kind::Tuple || it.empty() || it[0]->kind != Kind::String || it[0]->text != "storage")
      fail("persistent id must be a ('storage', ...) tuple as torch.save writes, got a " +
           std::string(pid->kind_name()));
    if (it.size() != 5 && it.size() != 6)
      fail("persistent id ('storage', ...) has " + std::to_string(it.size()) + " fields; expected 5 (zip format) or 6 (legacy)");
    if (it[1]->kind != Kind::Global || !is_storage_global(it[1]->text))
      fail("persistent id: the storage type must be a torch.*Storage global, got a " + std::string(it[1]->kind_name()));
    auto key_of = [&](const Value& v, const char* what) {
      if (v.kind == Kind::String || v.kind == Kind::Bytes) return v.text;
      if (v.kind == Kind::Int) return std::to_string(v.integer);
      fail(std::string("persistent id: the ") + what + " must be a string, got a " + v.kind_name());
    };
    auto ref = std::make_shared<StorageRef>();
    ref->type = it[1]->text.substr(6);
    ref->key = key_of(*it[2], "storage key");
    ref->location = key_of(*it[3], "location");
    ref->numel = int_arg(*it[4], "persistent id: storage numel");
    if (ref->numel < 0) fail("persistent id: negative storage numel " + std::to_string(ref->numel));
    ref->pickle_offset = base_ + op_pos_;
    if (it.size() == 6 && it[5]->kind != Kind::None) {
      const Value& vm = *it[5];
      if (vm.kind != Kind::Tuple || vm.items.size() != 3)
        fail("persistent id: view metadata must be None or (view_key, offset, size)");
      ref->is_view = true;
      ref->view_offset = int_arg(*vm.items[1], "view offset");
      ref->view_numel = int_arg(*vm.items[2], "view size");
      if (ref->view_offset < 0 || ref->view_numel < 0 || ref->view_offset > ref->numel ||
          ref->view_numel > ref->numel - ref->view_offset)
        fail("persistent id: storage view [" + std::to_string(ref->view_offset) + ", +" +
             std::to_string(ref->view_numel) + ") lies outside storage '" + ref->key + "' of " +
             std::to_string(ref->numel) + " elements");
    }
    auto v = make(Kind::Storage);
    v->storage = std::move(ref);
    push(v);
  }

  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, const std::string& fn) {
    if (a[0]->kind != Kind::Storage) fail(fn + ": first argument must be a storage, got a " + a[0]->kind_name());
    auto t = std::make_shared<TensorRef>();
    t->storage = a[0]->storage;
    t->offset = int_arg(*a[1], "storage offset");
    t->shape = int_tuple(*a[2], "tensor size");
    t->strides = int_tuple(*a[3], "tensor stride");
    t->pickle_offset = base_ + op_pos_;
    if (t->shape.size() != t->strides.size())
      fail(fn + ": size " + shape_str(t->shape) + " and stride " + shape_str(t->strides) + " differ in length");
    auto v = make(Kind::Tensor);
    v->tensor = std::move(t);
    return v;
  }

  void reduce() {
    ValuePtr args = pop("REDUCE");
    ValuePtr fn = pop("REDUCE");
    if (fn->kind != Kind::Global) fail(std::string("REDUCE calls a ") + fn->kind_name() + ", not an allowed global");
    if (args->kind != Kind::Tuple) fail("REDUCE arguments must be a tuple, got a " + std::string(args->kind_name()));
    const std::string& name = fn->text;
    const auto& a = args->items;
    auto need = [&](bool ok, const char* expect) {
      if (!ok) fail(name + " called with " + std::to_string(a.size()) + " arguments; expected " + expect);
    };
    if (name == kOrderedDict) {
      auto d = make(Kind::Dict);
      need(a.size() <= 1, "0 or 1");
      if (a.size() == 1) {  // OrderedDict([(k, v), ...])
        if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple) fail("OrderedDict argument must be a list of pairs");
        for (const auto& kv : a[0]->items) {
          if ((kv->kind != Kind::Tuple && kv->kind != Kind::List) || kv->items.size() != 2)
            fail("OrderedDict argument must be a list of (key, value) pairs");
          set_item(*d, kv->items[0], kv->items[1]);
        }
      }
      push(d);
    } else if (name == kRebuildTensorV2) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      need(a.size() == 6 || a.size() == 7, "6 or 7");
      if (a[5]->kind != Kind::Dict) fail(name + ": backward_hooks must be a dict");
      push(rebuild_tensor(a, name));
    } else if (name == kRebuildTensor) {
      need(a.size() == 4, "4");  // (storage, storage_offset, size, stride)
      push(rebuild_tensor(a, name));
    } else if (name == kRebuildParameter || name == kRebuildParameterWithState) {
      // (data, requires_grad, backward_hooks[, state]): the parameter is its data tensor.
      need(a.size() == (name == kRebuildParameter ? 3u : 4u), name == kRebuildParameter ? "3" : "4");
      if (a[0]->kind != Kind::Tensor) fail(name + ": data must be a tensor, got a " + a[0]->kind_name());
      push(a[0]);
    } else {
      fail("global '" + name + "' cannot be called");
    }
  }

  void step(uint8_t op) {
    switch (op) {
      case PROTO: {
        const uint8_t v = u8();
        if (v > 5) fail("pickle protocol " + std::to_string(v) + " is newer than 5");
        break;
      }
      case FRAME: u64(); break;  // frames only group bytes for buffered reads
      case MARK: marks_.push_back(stack_.size()); break;
      case POP:
        if (!marks_.empty() && marks_.back() == stack_.size()) marks_.pop_back();
        else pop("POP");
        break;
      case POP_MARK: pop_mark("POP_MARK"); break;
      case DUP: {
        ValuePtr v = stack_.empty() ? nullptr : stack_.back();
        if (!v) fail("DUP on an empty stack (malformed pickle)");
        push(std::move(v));
        break;
      }
      case NONE: push(make(Kind::None)); break;
      case NEWTRUE:
      case NEWFALSE: {
        auto v = make(Kind::Bool);
        v->boolean = op == NEWTRUE;
        push(v);
        break;
      }
      case BININT: push(make_int(static_cast<int32_t>(u32()))); break;
      case BININT1: push(make_int(u8())); break;
      case BININT2: push(make_int(u16())); break;
      case LONG1: {
        const size_t n = u8();
        push_long(take(n), n);
        break;
      }
      case LONG4: {
        const uint32_t n = u32();
        if (n > (1u << 20)) fail("LONG4 of " + std::to_string(n) + " bytes is implausible");
        push_long(take(n), n);
        break;
      }
      case BINFLOAT: {  // big-endian IEEE double
        const uint8_t* p = take(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
        auto v = make(Kind::Float);
        std::memcpy(&v->real, &u, sizeof u);
        push(v);
        break;
      }
      case BINUNICODE: push(make_text(Kind::String, bytes(u32()))); break;
      case SHORT_BINUNICODE: push(make_text(Kind::String, bytes(u8()))); break;
      case BINUNICODE8: push(make_text(Kind::String, bytes(u64()))); break;
      // Python 2 str: torch loads these as text too.
      case SHORT_BINSTRING: push(make_text(Kind::String, bytes(u8()))); break;
      case BINSTRING: {
        const int32_t n = static_cast<int32_t>(u32());
        if (n < 0) fail("BINSTRING with negative length");
        push(make_text(Kind::String, bytes(static_cast<uint64_t>(n))));
        break;
      }
      case SHORT_BINBYTES: push(make_text(Kind::Bytes, bytes(u8()))); break;
      case BINBYTES: push(make_text(Kind::Bytes, bytes(u32()))); break;
      case BINBYTES8: push(make_text(Kind::Bytes, bytes(u64()))); break;
      case EMPTY_TUPLE: push(make(Kind::Tuple)); break;
      case EMPTY_LIST: push(make(Kind::List)); break;
      case EMPTY_DICT: push(make(Kind::Dict)); break;
      case TUPLE: push(tuple(pop_mark("TUPLE"))); break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        const size_t n = op - TUPLE1 + 1;
        std::vector<ValuePtr> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop("TUPLE1/2/3");
        push(tuple(std::move(items)));
        break;
      }
      case BINPUT: memo_put(u8()); break;
      case LONG_BINPUT: memo_put(u32()); break;
      case MEMOIZE: memo_put(memo_.size()); break;
      case BINGET: memo_get(u8()); break;
      case LONG_BINGET: memo_get(u32()); break;
      case APPEND: {
        ValuePtr v = pop("APPEND");
        Value& list = top("APPEND");
        if (list.kind != Kind::List) fail(std::string("APPEND to a ") + list.kind_name() + ", not a list");
        check_no_cycle(list, v);
        list.items.push_back(std::move(v));
        break;
      }
      case APPENDS: {
        std::vector<ValuePtr> items = pop_mark("APPENDS");
        Value& list = top("APPENDS");
        if (list.kind != Kind::List) fail(std::string("APPENDS to a ") + list.kind_name() + ", not a list");
        for (auto& v : items) {
          check_no_cycle(list, v);
          list.items.push_back(std::move(v));
        }
        break;
      }
      case SETITEM: {
        ValuePtr v = pop("SETITEM");
        ValuePtr k = pop("SETITEM");
        set_item(top("SETITEM"), std::move(k), std::move(v));
        break;
      }
      case SETITEMS: {
        std::vector<ValuePtr> items = pop_mark("SETITEMS");
        if (items.size() % 2) fail("SETITEMS with an odd number of stack items");
        Value& dict = top("SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case GLOBAL: {
        std::string module = line();
        std::string name = line();
        push_global(module, name);
        break;
      }
      case STACK_GLOBAL: {
        ValuePtr name = pop("STACK_GLOBAL");
        ValuePtr module = pop("STACK_GLOBAL");
        if (name->kind != Kind::String || module->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
        push_global(module->text, name->text);
        break;
      }
      case REDUCE: reduce(); break;
      case BUILD: {
        // state_dict() carries its _metadata attribute this way; tensors may carry Python
        // attributes. Neither affects the values, so the state is dropped.
        ValuePtr state = pop("BUILD");
        Value& obj = top("BUILD");
        if (obj.kind != Kind::Dict && obj.kind != Kind::Tensor)
          fail(std::string("BUILD on a ") + obj.kind_name() + " is not supported");
        break;
      }
      case BINPERSID: persistent_load(); break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("opcode ") + hex + " (" + refused_opcode_name(op) +
             ") is not allowed in a checkpoint pickle");
      }
    }
  }

  const uint8_t* data_;
  size_t size_;
  const std::string& where_;
  size_t base_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

}  // namespace

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "big int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

ValuePtr Value::get(const std::string& key) const {
  for (const auto& kv : entries)
    if (kv.first->kind == Kind::String && kv.first->text == key) return kv.second;
  return nullptr;
}

Unpickled unpickle(const uint8_t* data, size_t size, const std::string& where, size_t base_offset) {
  return Machine(data, size, where, base_offset).run();
}

}  // namespace csg::io::pickle
