// `kiln report`: one self-contained HTML page for a run dir or a sweep dir.
#pragma once
#include <filesystem>
#include <string>

namespace kiln::report {

enum class InputKind { kRun, kSweep };

// Which kind of dir `dir` is; kiln::Error::usage (naming the dir and what a run or sweep
// dir holds) when it is neither.
InputKind input_kind(const std::filesystem::path& dir);

struct Options {
  std::filesystem::path input;   // a run dir or a sweep dir
  std::filesystem::path output;  // empty: INPUT/report.html
};

// Gathers the data, renders the page and writes it atomically; returns the path written.
// Bad input (not a run or sweep dir, a garbled file) and an output that cannot be written
// are kiln::Error::usage, checked before anything is written.
std::filesystem::path write_report(const Options& o);

}  // namespace kiln::report
