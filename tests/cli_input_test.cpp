// End-to-end tests of hostile input (issue 11, "Inputs that crash or slip through"): each runs
// the real binary and expects exit 2 with a message naming the file, key or option, and
// nothing written. Before the fixes these exited 139 (segfault in toml++), 1 ("File name too
// long"), or 0 (an IDX header whose size wrapped around, a learning rate of 2^31).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunOptions;
using kiln_test::RunResult;
using kiln_test::split_lines;
using kiln_test::TempDir;
using kiln_test::tree;
using kiln_test::write_file;
namespace fs = std::filesystem;

std::string dotted(int parts) {
  std::string s = "a";
  for (int i = 1; i < parts; ++i) s += ".a";
  return s;
}

// Runs kiln in `dir` and expects exit 2 with `needle` on stderr and no new files there.
void expect_usage(const TempDir& dir, const std::vector<std::string>& args, const std::string& needle) {
  const auto before = tree(dir.path());
  RunOptions o;
  o.cwd = dir.path();
  const RunResult r = kiln_test::run(kiln(args), o);
  EXPECT_EQ(r.exit_code, 2) << r.describe().substr(0, 2000);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "'" << needle << "' not in: " << r.err.substr(0, 2000);
  EXPECT_LT(r.err.size(), 2000u) << "a long input should not be echoed whole";
  EXPECT_EQ(tree(dir.path()), before) << "bad input must write nothing";
}

TEST(CliInput, DeepTableHeaderIsExit2NotASegfault) {
  TempDir d("input");
  write_file(d / "deep.toml", "[optim]\nlr = 0.01\n[" + dotted(50000) + "]\n");
  expect_usage(d, {"train", "deep.toml"}, "deep.toml:3");
  write_file(d / "inline.toml", "x = " + std::string(100000, '[') + "\n");
  expect_usage(d, {"train", "inline.toml"}, "inline.toml:1");
}

TEST(CliInput, DeepSetValueIsExit2) {
  TempDir d("input");
  expect_usage(d, {"train", "--set", "model.mlp.hidden=" + std::string(100000, '[')}, "--set model.mlp.hidden");
  expect_usage(d, {"train", "--set", dotted(50000) + "=1"}, "unknown key");
}

TEST(CliInput, DeepSweepSpecIsExit2) {
  TempDir d("input");
  write_file(d / "spec.toml", "base = \"\"\n[" + dotted(50000) + "]\n");
  expect_usage(d, {"sweep", "spec.toml"}, "spec.toml:2");
}

TEST(CliInput, OverlongPathsAreExit2NamingTheKeyOrOption) {
  TempDir d("input");
  const std::string longp(100000, 'p');
  expect_usage(d, {"train", "--set", "data.dir=" + longp}, "data.dir");
  expect_usage(d, {"train", "--run-dir", longp}, "--run-dir");
  expect_usage(d, {"train", longp + ".toml"}, "config");
  expect_usage(d, {"verify", longp}, "run_dir");
  expect_usage(d, {"sweep", longp}, "spec");
}

TEST(CliInput, IdxHeaderThatOverflowsIsExit2NamingTheFileAndDimension) {
  TempDir d("input");
  fs::create_directory(d / "data");
  // 256 x 2^28 x 2^28: the product is 2^64, which wrapped to 0 and matched the empty body.
  write_file(d / "data/train-images-idx3-ubyte",
             std::string("\0\0\x08\x03\x00\x00\x01\x00\x10\x00\x00\x00\x10\x00\x00\x00", 16));
  for (const char* f : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    write_file(d / "data" / f, "");
  RunOptions o;
  o.cwd = d.path();
  const RunResult r =
      kiln_test::run(kiln({"train", "--set", "data.dir=data", "--run-dir", "run", "--set", "log.progress=off"}), o);
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("train-images-idx3-ubyte"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dimension 3 of 3"), std::string::npos) << r.err;
}

TEST(CliInput, SurelyMistakenValuesAreExit2WithTheReason) {
  TempDir d("input");
  expect_usage(d, {"train", "--set", "optim.lr=2147483648"}, "'optim.lr' at --set optim.lr=2147483648 is out of range");
  expect_usage(d, {"train", "--set", "train.epochs=9223372036854775807"}, "train.epochs");
  expect_usage(d, {"train", "--set", "schedule.min_lr=inf"}, "not a finite number");
}

TEST(CliInput, OneStepRunLogsTheStartLearningRate) {
  // max_steps = 1 logged lr 0.0: the cosine schedule took the run's only step as its last.
  TempDir d("input");
  RunOptions o;
  o.cwd = d.path();
  const RunResult r =
      kiln_test::run(kiln({"train", "--quiet", "--run-dir", "run", "--set", "train.max_steps=1", "--set",
                           "data.limit_train=64", "--set", "data.limit_test=64", "--set", "loader.batch_size=32",
                           "--set", "optim.lr=0.003", "--set", "log.progress=off"}),
                     o);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  int steps = 0;
  for (const auto& line : split_lines(read_file(d / "run/metrics.jsonl"))) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "step") continue;
    ++steps;
    EXPECT_EQ(j.value("lr", -1.0), 0.003) << line;
  }
  EXPECT_EQ(steps, 1);
}

}  // namespace
