// End-to-end test of `kiln verify --selftest`: fresh processes of each shipped config (4 of
// default.toml for 120 steps, 4 of fashion_cnn.toml for 30), loader thread counts varied,
// must agree bit for bit on this machine, whichever CPU it is (MKL CNR on Intel). Also
// its bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;

TEST(CliSelftest, ShippedConfigsAgreeAcrossFreshProcesses) {
  TempDir tmp("cli-selftest");
  // A small test split keeps the end-of-run evaluations short; training is as shipped.
  kiln_test::RunOptions o{tmp.path(), std::chrono::minutes(15)};
  const RunResult r =
      kiln_test::run(kiln({"verify", "--selftest", "--processes", "4", "--set", "data.limit_test=500", "--json"}), o);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json j = kiln_test::last_json_line(r.out).value_or(json::object());
  ASSERT_TRUE(j.value("match", false)) << j.dump(2);
  std::set<std::string> names;
  for (const auto& c : j["configs"]) {
    names.insert(c["name"].get<std::string>());
    EXPECT_EQ(c["runs"].size(), 4u);
    EXPECT_EQ(c["steps"].get<int>(), c["name"] == "default" ? 120 : 30);
    std::set<int> threads;
    for (const auto& run : c["runs"]) threads.insert(run["loader_threads"].get<int>());
    EXPECT_EQ(threads.size(), 4u);  // the thread count changed from run to run
  }
  // lm_bytes and tabular_weather read Debian packages the bootstrap installs.
  EXPECT_EQ(names, (std::set<std::string>{"default", "fashion_cnn", "lm_bytes", "tabular_weather"}));
  // The image-folder config needs its folder: skipped here, with the reason.
  ASSERT_EQ(j["skipped"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["skipped"][0]["name"], "imagefolder_resnet18");
  EXPECT_NE(j["skipped"][0]["reason"].get<std::string>().find("data.dir"), std::string::npos);
  // The environment says which CNR branch held (on an MKL build).
  const json libs = j["environment"]["cpu_libs"];
  if (libs.value("mkl", false)) {
    EXPECT_NE(libs.value("mkl_cnr_branch", "off"), "off") << libs.dump();
  }
}

TEST(CliSelftest, BadInputIsUsageError) {
  TempDir tmp("cli-selftest-bad");
  RunResult r = kiln_test::run(kiln({"verify", "--selftest", (tmp / "missing.toml").string()}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;
  r = kiln_test::run(kiln({"verify", "--selftest", "--processes", "1"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  kiln_test::write_file(tmp / "bad.toml", "[optim]\nlrate = 1\n");
  r = kiln_test::run(kiln({"verify", "--selftest", (tmp / "bad.toml").string()}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();  // checked before any run starts
  EXPECT_NE(r.err.find("lrate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.toml"), std::string::npos) << r.err;
}

}  // namespace
