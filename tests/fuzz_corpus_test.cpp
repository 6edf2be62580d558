// The fuzzers' seed and regression inputs (fuzz/corpus/<name>/) through the normal g++
// build of the same parsers, as ordinary unit tests: every input loads or throws
// kiln::Error::usage, never another exception or a crash; the crash-* inputs (ones that
// crashed kiln before the fix, kept from fuzzing and from issue 11) must be refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "config/load.h"
#include "data/idx.h"
#include "sweep/spec.h"
#include "util/error.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus(const std::string& name) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(KILN_SOURCE_DIR) / "fuzz/corpus" / name))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Runs `parse` on each input of the corpus; returns how many there were.
size_t check_corpus(const std::string& name, const std::function<void(const std::string&)>& parse) {
  const auto files = corpus(name);
  for (const auto& f : files) {
    const bool must_fail = f.filename().string().rfind("crash-", 0) == 0;
    const std::string bytes = kiln_test::read_file(f);
    try {
      parse(bytes);
      EXPECT_FALSE(must_fail) << f << " was accepted";
    } catch (const kiln::Error& e) {
      EXPECT_EQ(e.code(), kiln::ExitCode::kUsage) << f << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": not a kiln::Error: " << e.what();
    }
  }
  return files.size();
}

TEST(FuzzCorpus, ConfigInputsLoadOrAreUsageErrors) {
  EXPECT_GE(check_corpus("config",
                         [](const std::string& text) {
                           kiln::config::RunConfig cfg;
                           kiln::config::Origins origins;
                           kiln::config::apply_toml(cfg, text, "corpus.toml", origins);
                           kiln::config::validate(cfg, origins);
                         }),
            5u);
}

TEST(FuzzCorpus, SetInputsApplyOrAreUsageErrors) {
  EXPECT_GE(check_corpus("set",
                         [](const std::string& text) {
                           kiln::config::RunConfig cfg;
                           kiln::config::Origins origins;
                           kiln::config::apply_override(cfg, text, origins);
                           kiln::config::validate(cfg, origins);
                         }),
            5u);
}

TEST(FuzzCorpus, IdxInputsParseOrAreUsageErrors) {
  EXPECT_GE(check_corpus("idx",
                         [](const std::string& bytes) {
                           if (bytes.empty()) return;
                           // As in fuzz/idx_fuzz.cpp: the first byte is the expected number of dimensions.
                           kiln::data::parse_idx(kiln::data::maybe_gunzip(bytes.substr(1), "corpus.idx"), "corpus.idx",
                                                 static_cast<unsigned char>(bytes[0]) % 4);
                         }),
            4u);
}

TEST(FuzzCorpus, SpecInputsLoadOrAreUsageErrors) {
  EXPECT_GE(check_corpus("spec",
                         [](const std::string& text) {
                           kiln::sweep::parse_spec(text, fs::path(KILN_SOURCE_DIR) / "fuzz/spec.toml");
                         }),
            2u);
}

}  // namespace
