// IDX reader with strict validation; zlib for .gz files.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "util/error.h"
#include "util/fs.h"

namespace kiln::data {
namespace {

// Far above Fashion-MNIST (47 MB) and any uint8 image set kiln holds in memory, and below
// zlib's 32-bit avail_out; a tiny gzip "bomb" then fails with a message instead of eating memory.
constexpr size_t kMaxInflated = size_t(1) << 32;

}  // namespace

std::string read_maybe_gzipped(const std::filesystem::path& path) {
  return maybe_gunzip(util::read_file(path), path.string());
}

std::string maybe_gunzip(std::string raw, const std::string& name) {
  if (raw.size() < 2 || uint8_t(raw[0]) != 0x1f || uint8_t(raw[1]) != 0x8b) return raw;
  z_stream zs{};
  // 15 + 32: zlib or gzip header, auto-detected.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error::runtime("zlib init failed");
  std::string out;
  out.resize(std::min(raw.size() * 4, kMaxInflated));
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.total_out == out.size()) {
      if (out.size() >= kMaxInflated) {
        inflateEnd(&zs);
        throw Error::usage(
            name + ": gzip data decompresses to more than " + std::to_string(kMaxInflated >> 30) + " GiB",
            "is this the right file? kiln's IDX files are at most a few hundred MB");
      }
      out.resize(std::min(out.size() * 2, kMaxInflated));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - zs.total_out, UINT32_MAX));
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
      inflateEnd(&zs);
      throw Error::usage(name + ": corrupt or truncated gzip data" + (zs.msg ? std::string(" (") + zs.msg + ")" : ""),
                         "re-download or reinstall the file (e.g. apt-get install --reinstall dataset-fashion-mnist)");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw Error::usage(name + ": truncated gzip data (stream ends early)", "re-download or reinstall the file");
    }
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

IdxArray read_idx(const std::filesystem::path& path, int expected_ndims) {
  return parse_idx(read_maybe_gzipped(path), path.string(), expected_ndims);
}

IdxArray parse_idx(std::string_view bytes, const std::string& name, int expected_ndims) {
  if (bytes.size() < 4)
    throw Error::usage(name + ": too short to be an IDX file (" + std::to_string(bytes.size()) + " bytes)");
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (b[0] != 0 || b[1] != 0) throw Error::usage(name + ": bad IDX magic number (first two bytes must be 0)");
  if (b[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", b[2]);
    throw Error::usage(name + ": IDX data type " + type + " is not uint8 (0x08)");
  }
  if (b[3] != expected_ndims) {
    throw Error::usage(name + ": IDX file has " + std::to_string(b[3]) + " dimensions, expected " +
                       std::to_string(expected_ndims));
  }
  const size_t header = 4 + 4 * size_t(expected_ndims);
  if (bytes.size() < header) throw Error::usage(name + ": truncated IDX header");
  IdxArray out;
  uint64_t expected = 1;
  std::string shape;  // "256 x 268435456 x 268435456", for the messages
  for (int d = 0; d < expected_ndims; ++d) {
    const uint8_t* p = b + 4 + 4 * d;
    const uint32_t dim = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    shape += (d ? " x " : "") + std::to_string(dim);
    const std::string field = "dimension " + std::to_string(d + 1) + " of " + std::to_string(expected_ndims);
    if (dim == 0 || dim > (1u << 28)) {
      throw Error::usage(name + ": implausible IDX " + field + " (" + std::to_string(dim) + "; must be 1.." +
                         std::to_string(1u << 28) + ")");
    }
    out.dims.push_back(dim);
    // Checked: 256 x 2^28 x 2^28 is 2^64, which wraps to 0 in unchecked arithmetic and would
    // match an empty data section.
    if (__builtin_mul_overflow(expected, uint64_t(dim), &expected)) {
      throw Error::usage(name + ": IDX header sizes " + shape + " overflow 64 bits at " + field,
                         "the header is corrupt; re-download or reinstall the file");
    }
  }
  const uint64_t have = bytes.size() - header;
  if (have != expected) {
    throw Error::usage(name + ": IDX data is " + std::to_string(have) + " bytes but the header (" + shape + ") says " +
                           std::to_string(expected) + (have < expected ? " (truncated file)" : " (trailing bytes)"),
                       "re-download or reinstall the file");
  }
  out.data.assign(b + header, b + bytes.size());
  return out;
}

}  // namespace kiln::data
