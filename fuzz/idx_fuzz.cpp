// Fuzzes the IDX reader on bytes: gunzip when the gzip magic is there (data::maybe_gunzip),
// then data::parse_idx. The first byte picks the expected number of dimensions (0..3; kiln
// reads 1 for labels and 3 for images). Every input must parse or throw kiln::Error.
#include <cstdint>
#include <string>

#include "data/idx.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int ndims = data[0] % 4;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const kiln::data::IdxArray a =
        kiln::data::parse_idx(kiln::data::maybe_gunzip(std::move(bytes), "fuzz.idx"), "fuzz.idx", ndims);
    int64_t n = 1;
    for (int64_t d : a.dims) n *= d;
    if (static_cast<size_t>(n) != a.data.size()) __builtin_trap();  // the header and the data must agree
  } catch (const kiln::Error&) {
  }
  return 0;
}
