// src/io/raw_tensor.h — turning little-endian element buffers from checkpoint files into
// csg tensors.
//
// Checkpoints hold more element types than csg computes with. They load as:
//   F32, F16, BF16 -> F32 (half types widen exactly)     F64 -> F64
//   I64, I32, I16, I8, U8, Bool -> I64 (exact)
#pragma once
#include <cstddef>
#include <cstdint>

#include "csg/tensor.h"

namespace csg::io {

enum class RawType { F16, BF16, F32, F64, Bool, U8, I8, I16, I32, I64 };

size_t raw_size(RawType t);  // bytes per element
const char* raw_name(RawType t);  // "f16", "bf16", ...
DType loaded_dtype(RawType t);

float half_to_float(uint16_t h);
float bfloat16_to_float(uint16_t b);

// One past the largest element index a strided view addresses (0 for an empty view), or -1
// when a size or stride is negative or the arithmetic overflows int64.
int64_t strided_extent(const Shape& shape, const Shape& strides, int64_t offset);

// A new contiguous CPU tensor (dtype loaded_dtype(t)) holding the view
// base[offset + sum_i idx_i * strides_i] (indices and strides in elements). The caller
// checks first that strided_extent(...) elements of type t lie inside the buffer.
Tensor materialize(RawType t, const uint8_t* base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace csg::io
