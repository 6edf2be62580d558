// Paths that users type (config files, data.dir, --run-dir, sweep dirs) checked before the
// file system sees them: an over-long path makes std::filesystem throw filesystem_error
// ("File name too long"), which would be a runtime failure (exit 1) instead of bad input.
#pragma once
#include <filesystem>
#include <string>

namespace kiln::util {

// Throws Error::usage naming `what` (a key such as "data.dir", or "config file") when `path`
// is empty, holds a NUL byte, is longer than the system allows (PATH_MAX) or has a component
// longer than NAME_MAX.
void check_user_path(const std::filesystem::path& path, const std::string& what);

}  // namespace kiln::util
