// csg/io/pth.h — reading PyTorch checkpoints (torch.save files) without Python or LibTorch.
//
// Both formats torch.save has written are read:
//   * zip (PyTorch >= 1.6 default): "<name>/data.pkl" + one stored entry per storage,
//     ZIP64 included (large checkpoints);
//   * legacy (_use_new_zipfile_serialization=False, and files from PyTorch < 1.6): magic
//     number, protocol version and sys_info pickles, the object pickle, the storage-key
//     list, then each storage as an int64 element count and its raw bytes.
// The pickle is read by a restricted unpickler that never executes anything: only
// collections.OrderedDict, torch._utils._rebuild_tensor[_v2], _rebuild_parameter[_with_state]
// and torch.*Storage globals are accepted (see src/io/pickle.h); anything else (a whole
// pickled nn.Module, builtins.eval, os.system, ...) is refused with an error naming the
// global and its byte offset.
#pragma once
#include <string>
#include <vector>

#include "csg/io/named_tensor.h"

namespace csg {

// The checkpoint's state dict as contiguous CPU tensors, in file (insertion) order.
//
// Which dict: the top-level dict, or its "state_dict" entry when that is a dict, else its
// "model" entry when that is a dict ({'epoch': 3, 'state_dict': {...}, 'best_prec1': ..}).
// Nested dicts are flattened with '.' ("a": {"b": t} -> "a.b"); entries that are not
// tensors or dicts (ints, floats, strings, lists, None) are skipped; a leading "module."
// (nn.DataParallel) is stripped from every name.
//
// Element types: float32 -> F32; float16 and bfloat16 -> F32 (exact); float64 -> F64;
// int64, int32, int16, int8, uint8, bool -> I64 (exact). Complex and quantized tensors are
// refused. Storage offsets, strides (transposed or sliced views) and storages shared by
// several tensors are honoured; every tensor is returned as its own contiguous copy.
//
// Errors (csg::Error) name the file and, where relevant, the zip entry, tensor name,
// storage key or pickle byte offset: missing file, not a checkpoint (wrong magic),
// truncated or corrupt archive (no end-of-central-directory record, CRC mismatch),
// compressed entries, missing storage entries ("archive/data/7"), storages shorter than
// their tensors, refused pickle opcodes or globals, unsupported element types.
std::vector<NamedTensor> load_pth(const std::string& path);

}  // namespace csg
