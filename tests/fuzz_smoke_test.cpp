// A short, bounded run of each libFuzzer harness (fuzz/*_fuzz.cpp) over its seed corpus, so
// the suite catches a parser change that crashes on inputs near the seeds. tools/build.sh
// builds the fuzzers (build/fuzz/) when clang++-14 is installed; without them this skips.
// Bounded by runs and by time (-max_total_time), never asserting on speed: 5 s each.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;

class FuzzSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzSmoke, RunsBrieflyWithoutFindings) {
  const std::string name = GetParam();
  const fs::path bin = fs::path(KILN_FUZZ_DIR) / (name + "_fuzz");
  if (!fs::exists(bin)) GTEST_SKIP() << bin << " not built (tools/build.sh builds it when clang++-14 is installed)";
  kiln_test::TempDir work("fuzz");
  fs::create_directory(work / "new");  // new inputs go here, not into the source tree's corpus
  const std::string corpus = (fs::path(KILN_SOURCE_DIR) / "fuzz/corpus" / name).string();
  kiln_test::RunOptions o;
  o.cwd = work.path();
  o.timeout = std::chrono::milliseconds(120'000);
  const auto r = kiln_test::run(
      {bin.string(), "-max_total_time=5", "-runs=2000000", "-max_len=4096", "-timeout=20", "-rss_limit_mb=2048",
       "-print_final_stats=1", "-artifact_prefix=" + (work / "").string(), (work / "new").string(), corpus},
      o);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
  EXPECT_NE(r.err.find("Done"), std::string::npos) << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
}

INSTANTIATE_TEST_SUITE_P(Parsers, FuzzSmoke, ::testing::Values("config", "set", "idx", "spec", "csv", "npy"));

}  // namespace
