// src/core/version.cpp — the version and build features, from a header the Makefile writes
// (build/version_stamp.h) only when their text changes, so only this file recompiles.
#include "csg/version.h"

#include "version_stamp.h"

namespace csg {

std::string version() { return std::string(CSG_VERSION) + " (git " + CSG_GIT_DESCRIBE + ")"; }
std::string build_features() { return CSG_BUILD_FEATURES; }

}  // namespace csg
