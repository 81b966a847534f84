// src/io/file_checks.h — the first check before a user's file is read: a directory given where a
// file is expected gets a message saying so, not a read error at byte 0 or "no such file".
#pragma once
#include <string>

namespace csg::io {

// Throws csg::Error "<path> is a directory, not <what>; ..." when `path` is a directory.
// `what`: "an image", "a model file", ... Anything else (missing, unreadable) is left to the
// reader, whose error names the file and the reason.
void refuse_directory(const std::string& path, const std::string& what);

}  // namespace csg::io
