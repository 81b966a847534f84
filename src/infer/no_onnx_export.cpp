// src/infer/no_onnx_export.cpp — a build without ONNX export (libonnx-dev or libprotobuf-dev missing,
// or make ONNX=0): `csg export --format onnx` says what to install.
#include "csg/error.h"
#include "csg/infer.h"

namespace csg::infer {

bool onnx_export_available() { return false; }

void export_onnx(const std::string& path, const ModelWeights&) {
  CSG_FAIL("cannot write ", path, ": this csg was built without ONNX export; install libonnx-dev and libprotobuf-dev ",
           "(apt-get install libonnx-dev libprotobuf-dev, or bash tools/install-deps.sh) and rebuild (make prints ",
           "`ONNX export ✓`), or export the csg format (--format csg)");
}

}  // namespace csg::infer
