// Loads a `kiln report` page in headless Chromium (file://, no network) and says what went
// wrong: a JavaScript error (a console line, or the page's window.onerror marker), a script
// that did not reach its end (no <body data-rendered="ok">), and plots without data (each
// plot's <svg data-plot="ID" data-points="N">, read from the dumped DOM).
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kiln_test {

// The headless Chromium binary, or "" when it is not installed (tests then GTEST_SKIP).
std::string chromium_binary();

struct PageCheck {
  std::string dom;                    // the DOM after the scripts ran (--dump-dom)
  std::map<std::string, long> plots;  // data-plot -> data-points (-1 when the attribute is missing)
  std::vector<std::string> errors;    // console lines and the page's error marker
  bool rendered = false;              // the script reached its end
  bool loaded = false;                // Chromium ran and printed a DOM
};

// Runs Chromium on `html` with --dump-dom and console logging on stderr.
PageCheck load_page(const std::filesystem::path& html);

// Everything wrong with a loaded page: each error, a page that did not render, and each
// plot of `need_data` that is missing or drew nothing. Empty when the page is fine.
std::vector<std::string> page_problems(const PageCheck& c, const std::vector<std::string>& need_data);

// Screenshots the page (1280 px wide) into `png`; true when a PNG was written.
bool screenshot(const std::filesystem::path& html, const std::filesystem::path& png);

}  // namespace kiln_test
