// Fuzzes NumPy's formats as kiln reads them: the first byte picks the parser, 0 the .npy
// header (data::parse_npy_header on the bytes), 1 the .npz archive (the bytes written to a
// file, then data::read_npz: the zip directory, zip64 fields, each member's header). Every
// input must parse or throw kiln::Error; a parsed array's data must lie inside the input.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "data/npy.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* b = data + 1;
  const int64_t n = int64_t(size - 1);
  try {
    if (data[0] % 2 == 0) {
      const kiln::data::NpyArray a = kiln::data::parse_npy_header(b, n, 0, n, "fuzz.npy");
      if (a.offset + a.count() * a.item > n || a.offset < 0) __builtin_trap();
    } else {
      static const std::string path = "/tmp/kiln-npy-fuzz-" + std::to_string(::getpid()) + ".npz";
      {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(b), std::streamsize(n));
      }
      for (const auto& [name, a] : kiln::data::read_npz(path)) {
        if (a.offset < 0 || a.offset + a.count() * a.item > n) __builtin_trap();
      }
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
