// IDX files (the MNIST format): a big-endian header [0, 0, type, ndims] + ndims uint32
// dimensions, then the data. kiln reads the uint8 type (0x08), gzipped or plain.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::data {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> data;  // prod(dims) bytes
};

// Reads an IDX uint8 file (transparently gunzipping .gz) and checks the magic number,
// the number of dimensions (`expected_ndims`) and that the length matches the header
// exactly. Throws kiln::Error::usage naming the file and what is wrong.
IdxArray read_idx(const std::filesystem::path& path, int expected_ndims);

// The same checks on bytes already in memory (decompressed); `name` names them in errors.
// The header's sizes are multiplied in checked 64-bit arithmetic, so no header can wrap
// around to a size that matches the file. (Also the fuzzers' entry point.)
IdxArray parse_idx(std::string_view bytes, const std::string& name, int expected_ndims);

// Reads a whole file, gunzipping it when it starts with the gzip magic.
std::string read_maybe_gzipped(const std::filesystem::path& path);

// `raw` as is, or gunzipped when it starts with the gzip magic; `name` names it in errors.
std::string maybe_gunzip(std::string raw, const std::string& name);

}  // namespace kiln::data
