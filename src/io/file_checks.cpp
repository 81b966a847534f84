// src/io/file_checks.cpp — see file_checks.h.
#include "src/io/file_checks.h"

#include <filesystem>

#include "csg/error.h"

namespace csg::io {

void refuse_directory(const std::string& path, const std::string& what) {
  std::error_code ec;
  CSG_CHECK(!std::filesystem::is_directory(path, ec), path, " is a directory, not ", what,
            "; give a file inside it");
}

}  // namespace csg::io
