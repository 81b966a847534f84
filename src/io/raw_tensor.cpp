#include "src/io/raw_tensor.h"

#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "csg/error.h"

namespace csg::io {
namespace {

template <class S>
S load(const uint8_t* p) {
  S v;
  std::memcpy(&v, p, sizeof v);  // unaligned-safe; checkpoints are little-endian, as is the host
  return v;
}

// Converts one source element to the destination type.
template <class D>
D convert(RawType t, const uint8_t* p) {
  switch (t) {
    case RawType::F16: return static_cast<D>(half_to_float(load<uint16_t>(p)));
    case RawType::BF16: return static_cast<D>(bfloat16_to_float(load<uint16_t>(p)));
    case RawType::F32: return static_cast<D>(load<float>(p));
    case RawType::F64: return static_cast<D>(load<double>(p));
    case RawType::Bool: return static_cast<D>(*p != 0);
    case RawType::U8: return static_cast<D>(*p);
    case RawType::I8: return static_cast<D>(load<int8_t>(p));
    case RawType::I16: return static_cast<D>(load<int16_t>(p));
    case RawType::I32: return static_cast<D>(load<int32_t>(p));
    case RawType::I64: return static_cast<D>(load<int64_t>(p));
  }
  return D{};
}

template <class D>
void gather(RawType t, const uint8_t* base, const Shape& shape, const Shape& strides, int64_t offset, D* out) {
  const size_t es = raw_size(t);
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  // Plain copy when the view is already contiguous and needs no conversion.
  if (strides == contiguous_strides(shape) && sizeof(D) == es &&
      ((t == RawType::F32 && std::is_same_v<D, float>) || (t == RawType::F64 && std::is_same_v<D, double>) ||
       (t == RawType::I64 && std::is_same_v<D, int64_t>))) {
    std::memcpy(out, base + offset * es, static_cast<size_t>(n) * es);
    return;
  }
  const size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t src = offset;
  for (int64_t k = 0; k < n; ++k) {
    out[k] = convert<D>(t, base + src * es);
    // Odometer increment over the dims, last dim fastest.
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        src += strides[d];
        break;
      }
      src -= (shape[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

size_t raw_size(RawType t) {
  switch (t) {
    case RawType::Bool:
    case RawType::U8:
    case RawType::I8: return 1;
    case RawType::F16:
    case RawType::BF16:
    case RawType::I16: return 2;
    case RawType::F32:
    case RawType::I32: return 4;
    case RawType::F64:
    case RawType::I64: return 8;
  }
  return 0;
}

const char* raw_name(RawType t) {
  switch (t) {
    case RawType::F16: return "f16";
    case RawType::BF16: return "bf16";
    case RawType::F32: return "f32";
    case RawType::F64: return "f64";
    case RawType::Bool: return "bool";
    case RawType::U8: return "u8";
    case RawType::I8: return "i8";
    case RawType::I16: return "i16";
    case RawType::I32: return "i32";
    case RawType::I64: return "i64";
  }
  return "?";
}

DType loaded_dtype(RawType t) {
  switch (t) {
    case RawType::F16:
    case RawType::BF16:
    case RawType::F32: return DType::F32;
    case RawType::F64: return DType::F64;
    default: return DType::I64;
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: normalise the mantissa; every half subnormal is a normal float.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400));
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bfloat16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

int64_t strided_extent(const Shape& shape, const Shape& strides, int64_t offset) {
  if (shape.size() != strides.size() || offset < 0) return -1;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t last = offset;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || strides[d] < 0) return -1;
    if (shape[d] == 0) return 0;
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] > 1 && strides[d] > (kMax - last) / (shape[d] - 1)) return -1;
    last += (shape[d] - 1) * strides[d];
  }
  return last == kMax ? -1 : last + 1;
}

Tensor materialize(RawType t, const uint8_t* base, const Shape& shape, const Shape& strides, int64_t offset) {
  Tensor out = empty(shape, TensorOptions{loaded_dtype(t), Device::CPU});
  switch (loaded_dtype(t)) {
    case DType::F32: gather(t, base, shape, strides, offset, out.data<float>()); break;
    case DType::F64: gather(t, base, shape, strides, offset, out.data<double>()); break;
    case DType::I64: gather(t, base, shape, strides, offset, out.data<int64_t>()); break;
  }
  return out;
}

}  // namespace csg::io
