// Fuzzes the sweep spec reader: any bytes as a spec file through sweep::parse_spec. Every
// input must load or throw kiln::Error. The spec "lives" in the source tree's fuzz/ folder,
// so a spec without `base` finds configs/fashion_cnn.toml the way a real one does.
#include <cstdint>
#include <string_view>

#include "sweep/spec.h"
#include "util/error.h"

#ifndef KILN_FUZZ_SPEC_PATH
#define KILN_FUZZ_SPEC_PATH "fuzz/spec.toml"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    kiln::sweep::parse_spec(text, KILN_FUZZ_SPEC_PATH);
  } catch (const kiln::Error&) {
  }
  return 0;
}
