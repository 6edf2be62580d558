// File helpers: atomic writes (temp file, fsync, rename, fsync of the directory), so a
// reader never sees a half-written file, and whole-file reads with clear errors. A full disk
// (or any failed write) is a kiln::Error::runtime naming the file, the error, the bytes it
// needed and the space that was free; the temp file is removed and the old file, if any,
// stays as it was.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/out_file.h"

namespace kiln::util {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically.
void atomic_write(const fs::path& path, std::string_view bytes);

// Lets `writer` fill a temporary file beside `path` through `out` (e.g. a LibTorch archive
// streamed into it), then fsyncs it and renames it over `path`. The temp file is removed on
// failure. Writers get an OutFile, not a path, so that no write can go unchecked.
void atomic_write_with(const fs::path& path, const std::function<void(OutFile& out)>& writer);

// Reads a whole file; throws kiln::Error::usage naming the path when it cannot.
std::string read_file(const fs::path& path);

// Reads up to `max_bytes` from the start of a file into `buf` (resized to what was read, its
// capacity kept for the next call, so a loader thread reuses one buffer); throws
// kiln::Error::usage naming the path when it cannot be opened.
void read_prefix(const fs::path& path, size_t max_bytes, std::vector<uint8_t>& buf);
// The same for a path as a C string: no allocation once `buf` has grown (a loader's reads).
void read_prefix(const char* path, size_t max_bytes, std::vector<uint8_t>& buf);

// fsyncs a file or directory by path (best effort for directories).
void fsync_path(const fs::path& path);

// Removes the temp files atomic_write* left in `dir` when a process was killed mid-write
// (".NAME.tmp.PID" whose PID no longer runs); returns what it removed.
std::vector<fs::path> remove_stale_temps(const fs::path& dir);

}  // namespace kiln::util
