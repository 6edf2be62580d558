// A CSV file as RFC 4180 has it: a header row, fields separated by commas, records by LF or
// CRLF, fields in double quotes holding commas, line breaks and "" for a quote. Read whole
// into memory (kiln refuses files over kMaxCsvBytes rather than swapping), by column.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::data {

inline constexpr int64_t kMaxCsvBytes = int64_t(512) << 20;

struct CsvTable {
  std::filesystem::path path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> columns;  // columns[c][row]
  std::vector<int64_t> line;                      // the file line each row starts on (1-based)
  std::string sha256;                             // of the file's bytes (read_csv)
  int64_t rows() const { return int64_t(line.size()); }
  // The index of column `name`, or -1.
  int64_t find(const std::string& name) const;
  // "path:line" of a row, for messages.
  std::string where(int64_t row) const;
};

// Parses `text` (the file's bytes; `path` names it in messages). Error::usage with file:line
// for a ragged row, an unterminated quote, a quote inside an unquoted field, an empty file,
// an empty or duplicate column name.
CsvTable parse_csv(const std::string& text, const std::filesystem::path& path);

// Reads and parses `path`; Error::usage above kMaxCsvBytes (naming the limit).
CsvTable read_csv(const std::filesystem::path& path);

}  // namespace kiln::data
