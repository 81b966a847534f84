// csg/io/npy.h — NumPy .npy files (format 1.0), for handing logits and features to Python.
#pragma once
#include <string>

#include "csg/tensor.h"

namespace csg {

// Writes any tensor (copied to the CPU; f32 '<f4', f64 '<f8', i64 '<i8'), C order, atomically.
void save_npy(const std::string& path, const Tensor& t);
// Reads a C-order little-endian '<f4', '<f8' or '<i8' array.
Tensor load_npy(const std::string& path);

}  // namespace csg
