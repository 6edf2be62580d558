// Fuzzes the CSV reader (data::parse_csv) on bytes. Every input must parse or throw
// kiln::Error; a parsed table must be rectangular, one line number a row.
#include <cstdint>
#include <string>

#include "data/csv_reader.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const kiln::data::CsvTable t =
        kiln::data::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    for (const auto& col : t.columns) {
      if (int64_t(col.size()) != t.rows()) __builtin_trap();
    }
    if (t.columns.size() != t.header.size()) __builtin_trap();
  } catch (const kiln::Error&) {
  }
  return 0;
}
