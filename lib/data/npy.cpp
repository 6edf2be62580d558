// The .npy header parser and the .npz (zip) directory reader.
#include "data/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace kiln::data {
namespace {

uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

[[noreturn]] void bad(const std::string& where, const std::string& what, const std::string& hint = {}) {
  throw Error::usage(where + ": " + what,
                     hint.empty() ? "write it with numpy: np.save, or np.savez(path, x=inputs, y=targets)" : hint);
}

// The value text after `'key':` in the header dict, up to the next top-level comma or brace.
std::string dict_value(const std::string& h, const std::string& key, const std::string& where) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) bad(where, "the .npy header has no '" + key + "'");
  size_t i = h.find(':', k);
  if (i == std::string::npos) bad(where, "the .npy header's '" + key + "' has no value");
  ++i;
  int depth = 0;
  size_t j = i;
  for (; j < h.size(); ++j) {
    const char c = h[j];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth < 0 || (depth == 0 && (c == ',' || c == '}'))) break;
  }
  std::string v = h.substr(i, j - i);
  v.erase(0, v.find_first_not_of(" "));
  v.erase(v.find_last_not_of(" ") + 1);
  return v;
}

}  // namespace

int64_t NpyArray::count() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy_header(const uint8_t* b, int64_t size, int64_t base, int64_t available, const std::string& where) {
  if (size < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0) bad(where, "not an .npy array (no \\x93NUMPY magic)");
  const int major = b[6];
  if (major < 1 || major > 3) bad(where, "an .npy format version " + std::to_string(major) + " kiln does not read");
  const int64_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  if (size < start) bad(where, "the .npy header is cut short");
  const int64_t hlen = int64_t(le(b + 8, int(len_bytes)));
  if (start + hlen > size) bad(where, "the .npy header is cut short (it says " + std::to_string(hlen) + " bytes)");
  const std::string h(reinterpret_cast<const char*>(b + start), size_t(hlen));
  NpyArray a;
  std::string descr = dict_value(h, "descr", where);
  if (descr.size() < 3 || (descr.front() != '\'' && descr.front() != '"')) bad(where, "a structured dtype " + descr);
  a.descr = descr.substr(1, descr.size() - 2);
  const std::string shape = dict_value(h, "shape", where);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') bad(where, "a malformed shape " + shape);
  std::string dims = shape.substr(1, shape.size() - 2);
  size_t p = 0;
  while (p < dims.size()) {
    const size_t q = dims.find(',', p);
    std::string d = dims.substr(p, q == std::string::npos ? std::string::npos : q - p);
    d.erase(0, d.find_first_not_of(" "));
    d.erase(d.find_last_not_of(" ") + 1);
    if (!d.empty()) {
      if (d.find_first_not_of("0123456789") != std::string::npos || d.size() > 15)
        bad(where, "a malformed shape " + shape);
      a.shape.push_back(std::stoll(d));
    }
    if (q == std::string::npos) break;
    p = q + 1;
  }
  const std::string fortran = dict_value(h, "fortran_order", where);
  if (fortran == "True" && a.shape.size() > 1) {
    bad(where, "the array is in Fortran (column-major) order", "save it C-ordered: np.ascontiguousarray(a)");
  }
  if (fortran != "True" && fortran != "False") bad(where, "a malformed fortran_order " + fortran);
  static const std::map<std::string, int64_t> kItems = {{"|u1", 1}, {"<f2", 2}, {"<f4", 4}, {"<i8", 8}};
  std::string d = a.descr;
  if (d == "u1" || d == "<u1" || d == ">u1") d = "|u1";
  if (d.size() > 1 && d[0] == '>') {
    bad(where, "a big-endian dtype '" + a.descr + "'", "convert it: a.astype(a.dtype.newbyteorder('<'))");
  }
  const auto it = kItems.find(d);
  if (it == kItems.end()) {
    bad(where, "dtype '" + a.descr + "' (kiln reads uint8, float16, float32 and int64)",
        "convert it: a.astype(np.float32) for inputs or regression targets, np.int64 for class labels");
  }
  a.descr = d;
  a.item = it->second;
  a.offset = base + start + hlen;
  int64_t bytes = a.item;  // the data's size, refused before it can overflow
  for (const int64_t dim : a.shape) {
    if (__builtin_mul_overflow(bytes, dim, &bytes)) bad(where, "a shape " + shape + " too large for any file");
  }
  if (bytes > available - (start + hlen)) {
    bad(where,
        "the header's shape needs " + std::to_string(a.count() * a.item) + " bytes of data but " +
            std::to_string(std::max<int64_t>(0, available - start - hlen)) + " follow",
        "the file was cut short: write it again");
  }
  return a;
}

std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::ifstream f(path, std::ios::binary);
  if (!f) bad(where, "cannot open it", "check data.train / data.test");
  f.seekg(0, std::ios::end);
  const int64_t size = f.tellg();
  auto read = [&](int64_t at, int64_t n) {
    // Checked before allocating: the sizes come from the file.
    if (at < 0 || n < 0 || at > size || n > size - at) bad(where, "the zip archive is cut short or damaged");
    std::vector<uint8_t> buf(static_cast<size_t>(n));
    f.seekg(at);
    f.read(reinterpret_cast<char*>(buf.data()), std::streamsize(n));
    if (!f) bad(where, "the zip archive is cut short or damaged");
    return buf;
  };
  // The end-of-central-directory record: the last 22 bytes plus up to a 64 KiB comment.
  const int64_t tail_n = std::min<int64_t>(size, 22 + 65535);
  const std::vector<uint8_t> tail = read(size - tail_n, tail_n);
  int64_t eocd = -1;
  for (int64_t i = tail_n - 22; i >= 0; --i) {
    if (le(tail.data() + i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad(where, "not a zip archive (.npz): no end-of-central-directory record");
  uint64_t entries = le(tail.data() + eocd + 10, 2), cd_size = le(tail.data() + eocd + 12, 4),
           cd_off = le(tail.data() + eocd + 16, 4);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {  // zip64
    const int64_t loc = size - tail_n + eocd - 20;
    const std::vector<uint8_t> l = read(loc, 20);
    if (le(l.data(), 4) != 0x07064b50) bad(where, "a zip64 archive without its locator");
    const std::vector<uint8_t> z = read(int64_t(le(l.data() + 8, 8)), 56);
    if (le(z.data(), 4) != 0x06064b50) bad(where, "a damaged zip64 end-of-central-directory record");
    entries = le(z.data() + 32, 8);
    cd_size = le(z.data() + 40, 8);
    cd_off = le(z.data() + 48, 8);
  }
  const std::vector<uint8_t> cd = read(int64_t(cd_off), int64_t(cd_size));
  std::map<std::string, NpyArray> out;
  size_t p = 0;
  for (uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > cd.size() || le(cd.data() + p, 4) != 0x02014b50) bad(where, "a damaged zip central directory");
    const uint8_t* h = cd.data() + p;
    const uint64_t method = le(h + 10, 2), name_n = le(h + 28, 2), extra_n = le(h + 30, 2), comment_n = le(h + 32, 2);
    uint64_t usize = le(h + 24, 4), csize = le(h + 20, 4), local = le(h + 42, 4);
    if (p + 46 + name_n + extra_n > cd.size()) bad(where, "a damaged zip central directory");
    const std::string name(reinterpret_cast<const char*>(h + 46), name_n);
    // The zip64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in order.
    for (size_t x = 0; x + 4 <= extra_n;) {
      const uint8_t* ex = h + 46 + name_n + x;
      const uint64_t id = le(ex, 2), n = le(ex + 2, 2);
      if (id == 1) {
        size_t k = 4;
        if (usize == 0xFFFFFFFF && k + 8 <= 4 + n) usize = le(ex + k, 8), k += 8;
        if (csize == 0xFFFFFFFF && k + 8 <= 4 + n) csize = le(ex + k, 8), k += 8;
        if (local == 0xFFFFFFFF && k + 8 <= 4 + n) local = le(ex + k, 8), k += 8;
      }
      x += 4 + n;
    }
    p += 46 + name_n + extra_n + comment_n;
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    const std::string key = name.substr(0, name.size() - 4), at = where + " member " + name;
    if (method != 0) {
      bad(at, "compressed (np.savez_compressed); kiln reads arrays in place, uncompressed",
          "write it with np.savez (no compression)");
    }
    const std::vector<uint8_t> lh = read(int64_t(local), 30);
    if (le(lh.data(), 4) != 0x04034b50) bad(at, "a damaged zip local header");
    const int64_t data = int64_t(local) + 30 + int64_t(le(lh.data() + 26, 2)) + int64_t(le(lh.data() + 28, 2));
    const int64_t head_n = std::min<int64_t>(int64_t(usize), 65536 + 12);
    const std::vector<uint8_t> head = read(data, head_n);
    out[key] = parse_npy_header(head.data(), head_n, data, int64_t(usize), at);
    (void)csize;
  }
  return out;
}

}  // namespace kiln::data
