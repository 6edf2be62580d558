// The RFC 4180 parser: one pass, a small state machine over the bytes.
#include "data/csv_reader.h"

#include <set>

#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace kiln::data {

int64_t CsvTable::find(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return int64_t(i);
  }
  return -1;
}

std::string CsvTable::where(int64_t row) const { return path.string() + ":" + std::to_string(line[size_t(row)]); }

namespace {

// One record's fields, and the line it started on.
struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
};

class Parser {
 public:
  Parser(const std::string& text, const std::filesystem::path& path) : s_(text), path_(path) {
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) i_ = 3;  // a UTF-8 byte-order mark
  }

  // The next record; false at the end of the text.
  bool next(Record& r) {
    r.fields.clear();
    if (i_ >= s_.size()) return false;
    r.line = line_;
    std::string field;
    for (;;) {
      field.clear();
      if (i_ < s_.size() && s_[i_] == '"') {
        ++i_;
        const int64_t opened = line_;
        for (;;) {
          if (i_ >= s_.size()) fail(opened, "a quoted field is never closed (a \" is missing)");
          const char c = s_[i_++];
          if (c == '"') {
            if (i_ < s_.size() && s_[i_] == '"') {
              field += '"';
              ++i_;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line_;
            field += c;
          }
        }
        if (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '\n' && s_[i_] != '\r') {
          fail(line_, "text after a closing quote (a quote inside a field is written \"\")");
        }
      } else {
        while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '\n' && s_[i_] != '\r') {
          if (s_[i_] == '"') fail(line_, "a quote inside an unquoted field (quote the whole field, \"\" for a quote)");
          field += s_[i_++];
        }
      }
      r.fields.push_back(field);
      if (i_ >= s_.size()) return true;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '\r') ++i_;
      if (i_ < s_.size() && s_[i_] == '\n') ++i_;
      ++line_;
      return true;
    }
  }

  [[noreturn]] void fail(int64_t line, const std::string& what) const {
    throw Error::usage(path_.string() + ":" + std::to_string(line) + ": " + what,
                       "fix the CSV (RFC 4180: fields in double quotes may hold commas and line breaks)");
  }

 private:
  const std::string& s_;
  std::filesystem::path path_;
  size_t i_ = 0;
  int64_t line_ = 1;
};

}  // namespace

CsvTable parse_csv(const std::string& text, const std::filesystem::path& path) {
  CsvTable t;
  t.path = path;
  Parser p(text, path);
  Record r;
  if (!p.next(r)) throw Error::usage(path.string() + ": the file is empty", "a CSV needs a header row, then data");
  t.header = r.fields;
  std::set<std::string> seen;
  for (size_t c = 0; c < t.header.size(); ++c) {
    if (t.header[c].empty()) p.fail(1, "column " + std::to_string(c + 1) + " of the header has no name");
    if (!seen.insert(t.header[c]).second) p.fail(1, "the header names column '" + t.header[c] + "' twice");
  }
  t.columns.resize(t.header.size());
  while (p.next(r)) {
    if (r.fields.size() == 1 && r.fields[0].empty()) continue;  // a blank line
    if (r.fields.size() != t.header.size()) {
      p.fail(r.line, std::to_string(r.fields.size()) + " fields, but the header has " +
                         std::to_string(t.header.size()) + " (a ragged row)");
    }
    for (size_t c = 0; c < r.fields.size(); ++c) t.columns[c].push_back(std::move(r.fields[c]));
    t.line.push_back(r.line);
  }
  if (t.rows() == 0) throw Error::usage(path.string() + ": a header and no rows", "the table needs data");
  return t;
}

CsvTable read_csv(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error::usage(path.string() + ": cannot read: " + ec.message(), "check data.train / data.test");
  if (int64_t(size) > kMaxCsvBytes) {
    throw Error::usage(path.string() + ": " + std::to_string(size >> 20) + " MiB, over kiln's CSV limit of " +
                           std::to_string(kMaxCsvBytes >> 20) + " MiB (a CSV is parsed into memory whole)",
                       "split the table, or sample it down; larger tables belong in binary arrays");
  }
  const std::string text = util::read_file(path);
  CsvTable t = parse_csv(text, path);
  t.sha256 = util::sha256_hex(text);
  return t;
}

}  // namespace kiln::data
