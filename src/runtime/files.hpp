// Small file helpers the runtime shares: reading a whole file, whether a path exists, writing
// a file with its parent directories.
#pragma once

#include <string>

#include "core/error.hpp"

namespace knlab {

// The whole file, or "" when it cannot be read.
std::string read_text(const std::string& path);

// Whether something (a file, a directory, a dangling link) is at `path` (lstat).
bool path_exists(const std::string& path);

// Writes `content` to `path` (mode 0644) in place (same inode when it exists), creating missing
// parent directories (0755).
Status write_file(const std::string& path, const std::string& content);

}  // namespace knlab
