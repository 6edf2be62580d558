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
#include "data/csv_reader.h"
#include "data/idx.h"
#include "data/npy.h"
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

TEST(FuzzCorpus, CsvInputsParseOrAreUsageErrors) {
  EXPECT_GE(check_corpus("csv", [](const std::string& text) { kiln::data::parse_csv(text, "corpus.csv"); }), 4u);
}

TEST(FuzzCorpus, NpyInputsParseOrAreUsageErrors) {
  kiln_test::TempDir tmp("npy-corpus");
  EXPECT_GE(check_corpus("npy",
                         [&](const std::string& bytes) {
                           if (bytes.empty()) return;
                           // As in fuzz/npy_fuzz.cpp: the first byte picks the .npy header or the .npz.
                           const auto* b = reinterpret_cast<const uint8_t*>(bytes.data()) + 1;
                           const int64_t n = int64_t(bytes.size()) - 1;
                           if (bytes[0] % 2 == 0) {
                             kiln::data::parse_npy_header(b, n, 0, n, "corpus.npy");
                           } else {
                             kiln_test::write_file(tmp / "corpus.npz", bytes.substr(1));
                             kiln::data::read_npz(tmp / "corpus.npz");
                           }
                         }),
            5u);
}

}  // namespace
