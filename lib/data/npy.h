// NumPy's file formats, read without NumPy: the .npy header (format versions 1.0, 2.0 and
// 3.0: magic "\x93NUMPY", a version, a little-endian header length, then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, ...)}) and the .npz archive
// (a zip of .npy members, as np.savez writes it: stored, not compressed, zip64 where large).
// Only where an array's bytes lie is read here; the data stays in the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kiln::data {

struct NpyArray {
  std::string descr;           // '<f4', '|u1', ...
  std::vector<int64_t> shape;  // () = a scalar
  int64_t offset = 0;          // of the first element, from the start of the file that holds it
  int64_t item = 0;            // bytes per element
  int64_t count() const;       // elements
};

// Parses the .npy header in `bytes` (at least the header's length; `where` names it in
// messages) and places the data at `base` + header length. Error::usage for a bad magic, an
// unknown version, a malformed dict, Fortran order (of more than one dimension), a big-endian
// dtype, a dtype kiln does not read (it reads u1, f2, f4, i8), or a data size that does not
// fit `available` bytes.
NpyArray parse_npy_header(const uint8_t* bytes, int64_t size, int64_t base, int64_t available,
                          const std::string& where);

// The .npy members of the .npz at `path` by name without ".npy" ("x", "y"), each parsed.
// Error::usage naming the file for a compressed member (np.savez_compressed), a truncated
// archive, or a member that is not an .npy.
std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path);

}  // namespace kiln::data
