// File helpers: atomic writes (temp file, fsync, rename, fsync of the directory), so a
// reader never sees a half-written file, and whole-file reads with clear errors.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::util {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically.
void atomic_write(const fs::path& path, std::string_view bytes);

// Lets `writer` fill a temporary file beside `path` (e.g. a LibTorch archive that writes its
// own file), then fsyncs it and renames it over `path`. The temp file is removed on failure.
void atomic_write_with(const fs::path& path, const std::function<void(const fs::path& tmp)>& writer);

// Reads a whole file; throws kiln::Error::usage naming the path when it cannot.
std::string read_file(const fs::path& path);

// fsyncs a file or directory by path (best effort for directories).
void fsync_path(const fs::path& path);

// Removes the temp files atomic_write* left in `dir` when a process was killed mid-write
// (".NAME.tmp.PID" whose PID no longer runs); returns what it removed.
std::vector<fs::path> remove_stale_temps(const fs::path& dir);

}  // namespace kiln::util
