// End-to-end tests of the `kiln` command line (design.md, "Interface contract"): they run
// the real binary as a child process on tiny slices of Fashion-MNIST and check its exit
// codes, its --json line, the run directory it writes, and that bad input writes nothing.
#include <gtest/gtest.h>

#include <toml++/toml.h>
#include <torch/cuda.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::Child;
using kiln_test::kiln;
using kiln_test::read_file;
using kiln_test::RunOptions;
using kiln_test::RunResult;
using kiln_test::split_lines;
using kiln_test::TempDir;
using kiln_test::tree;
using kiln_test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kFashionDir = "/usr/share/datasets/fashion-mnist";
const char* const kFashionFiles[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                     "t10k-labels-idx1-ubyte"};

// A tiny, fast run: 512 train samples in batches of 64 (8 steps an epoch), 256 test samples.
std::vector<std::string> tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {
      "train",          "--set", "data.limit_train=512", "--set", "data.limit_test=256", "--set",
      "train.epochs=1", "--set", "loader.batch_size=64", "--set", "log.progress=off"};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

bool contains_nocase(const std::string& hay, const std::string& needle) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  return lower(hay).find(lower(needle)) != std::string::npos;
}

bool is_sha256_hex(const json& v) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("^[0-9a-f]{64}$"));
}

// Parses every line of metrics.jsonl; a line that is not JSON fails the test.
std::vector<json> read_metrics(const fs::path& run_dir) {
  std::vector<json> records;
  for (const auto& line : split_lines(read_file(run_dir / "metrics.jsonl"))) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "metrics.jsonl line is not JSON: " << line;
    if (!j.is_discarded()) records.push_back(j);
  }
  return records;
}

std::vector<double> step_losses(const fs::path& run_dir) {
  std::vector<double> losses;
  for (const auto& r : read_metrics(run_dir)) {
    if (r.value("type", "") == "step" && r.contains("loss") && r["loss"].is_number()) {
      losses.push_back(r["loss"].get<double>());
    }
  }
  return losses;
}

// Runs a tiny training to completion and returns its --json summary (empty object on failure).
json train_ok(const std::vector<std::string>& argv, const fs::path& cwd) {
  const RunResult r = kiln_test::run(argv, {cwd});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto j = kiln_test::last_json_line(r.out);
  EXPECT_TRUE(j.has_value()) << "last stdout line is not JSON\n" << r.describe();
  return j.value_or(json::object());
}

// ---------------------------------------------------------------------------------------
// A tiny run: the --json line and the run directory.

TEST(CliTrain, TinyRunPrintsJsonSummaryAndWritesRunDir) {
  TempDir tmp("cli-train");
  const fs::path dir = tmp / "run";
  // Two epochs, so that there is more than one eval line and steps add up across epochs.
  const RunResult r = kiln_test::run(
      tiny({"--set", "train.epochs=2", "--seed", "3", "--json", "--run-dir", dir.string()}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();

  // stdout holds exactly one line, the JSON object; human output goes to stderr.
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.describe();
  EXPECT_EQ(r.out.back(), '\n');
  const json j = json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(j.is_object()) << lines[0];

  for (const char* key :
       {"run_dir", "epochs", "steps", "test_accuracy", "test_loss", "samples_per_s", "seed", "weights_sha256"}) {
    EXPECT_TRUE(j.contains(key)) << "missing key " << key << " in " << lines[0];
  }
  ASSERT_TRUE(j["run_dir"].is_string());
  EXPECT_TRUE(fs::equivalent(fs::path(j["run_dir"].get<std::string>()), dir)) << j["run_dir"];
  EXPECT_EQ(j["epochs"], 2);
  EXPECT_EQ(j["steps"], 16);  // ceil(512 / 64) = 8 per epoch
  ASSERT_TRUE(j["test_accuracy"].is_number());
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
  ASSERT_TRUE(j["test_loss"].is_number());
  EXPECT_TRUE(std::isfinite(j["test_loss"].get<double>()));
  EXPECT_GE(j["test_loss"].get<double>(), 0.0);
  ASSERT_TRUE(j["samples_per_s"].is_number());
  EXPECT_GT(j["samples_per_s"].get<double>(), 0.0);
  EXPECT_EQ(j["seed"], 3);
  EXPECT_TRUE(is_sha256_hex(j["weights_sha256"])) << j["weights_sha256"];

  // config.toml: the effective config, overrides included.
  ASSERT_TRUE(fs::is_regular_file(dir / "config.toml"));
  try {
    const toml::table cfg = toml::parse(read_file(dir / "config.toml"));
    EXPECT_EQ(cfg["data"]["limit_train"].value<int64_t>(), 512);
    EXPECT_EQ(cfg["loader"]["batch_size"].value<int64_t>(), 64);
    EXPECT_EQ(cfg["train"]["epochs"].value<int64_t>(), 2);
    EXPECT_EQ(cfg["repro"]["seed"].value<int64_t>(), 3);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "config.toml is not valid TOML: " << e.what();
  }

  // manifest.json
  ASSERT_TRUE(fs::is_regular_file(dir / "manifest.json"));
  const json m = json::parse(read_file(dir / "manifest.json"), nullptr, false);
  ASSERT_TRUE(m.is_object()) << read_file(dir / "manifest.json");
  ASSERT_TRUE(m.contains("environment"));
  ASSERT_TRUE(m["environment"].contains("libtorch_version"));
  EXPECT_TRUE(m["environment"]["libtorch_version"].is_string());
  EXPECT_FALSE(m["environment"]["libtorch_version"].get<std::string>().empty());
  EXPECT_EQ(m.value("seed", json()), 3);
  ASSERT_TRUE(m.contains("command_line"));
  EXPECT_TRUE(m["command_line"].is_string());
  EXPECT_NE(m["command_line"].get<std::string>().find("train"), std::string::npos) << m["command_line"];
  EXPECT_NE(m["command_line"].get<std::string>().find("--seed"), std::string::npos) << m["command_line"];
  EXPECT_TRUE(m.contains("started_at") && m["started_at"].is_string()) << m.dump();
  EXPECT_TRUE(m.contains("ended_at") && m["ended_at"].is_string()) << m.dump();

  // metrics.jsonl: one step line per optimizer step (steps 1..16, numeric loss), one eval per epoch.
  const auto records = read_metrics(dir);
  std::vector<int64_t> steps;
  int evals = 0;
  for (const auto& rec : records) {
    const std::string type = rec.value("type", "");
    if (type == "step") {
      ASSERT_TRUE(rec.contains("step") && rec["step"].is_number_integer()) << rec.dump();
      ASSERT_TRUE(rec.contains("loss") && rec["loss"].is_number()) << rec.dump();
      EXPECT_TRUE(std::isfinite(rec["loss"].get<double>())) << rec.dump();
      steps.push_back(rec["step"].get<int64_t>());
    } else if (type == "eval") {
      ++evals;
    }
  }
  std::vector<int64_t> expected_steps(16);
  for (int i = 0; i < 16; ++i) expected_steps[i] = i + 1;
  EXPECT_EQ(steps, expected_steps);
  EXPECT_EQ(evals, 2);

  // summary.json is the --json line.
  ASSERT_TRUE(fs::is_regular_file(dir / "summary.json"));
  EXPECT_EQ(json::parse(read_file(dir / "summary.json"), nullptr, false), j);

  ASSERT_TRUE(fs::is_regular_file(dir / "checkpoints" / "final.pt"));
  EXPECT_GT(fs::file_size(dir / "checkpoints" / "final.pt"), 0u);

  // With an explicit --run-dir nothing goes to runs/.
  EXPECT_FALSE(fs::exists(tmp / "runs"));
}

// ---------------------------------------------------------------------------------------
// Reproducibility: same seed, same weights and losses; another seed, other weights.

TEST(CliRepro, SameSeedSameWeightsAndLossesOtherSeedDiffers) {
  TempDir tmp("cli-repro");
  const json a = train_ok(tiny({"--seed", "11", "--json", "--run-dir", (tmp / "a").string()}), tmp.path());
  const json b = train_ok(tiny({"--seed", "11", "--json", "--run-dir", (tmp / "b").string()}), tmp.path());
  const json c = train_ok(tiny({"--seed", "12", "--json", "--run-dir", (tmp / "c").string()}), tmp.path());
  ASSERT_TRUE(is_sha256_hex(a.value("weights_sha256", json())));
  ASSERT_TRUE(is_sha256_hex(b.value("weights_sha256", json())));
  ASSERT_TRUE(is_sha256_hex(c.value("weights_sha256", json())));
  EXPECT_EQ(a["seed"], 11);
  EXPECT_EQ(c["seed"], 12);

  EXPECT_EQ(a["weights_sha256"], b["weights_sha256"]);
  EXPECT_NE(a["weights_sha256"], c["weights_sha256"]);
  ASSERT_TRUE(is_sha256_hex(a.value("loss_trace_sha256", json())));
  EXPECT_EQ(a["loss_trace_sha256"], b["loss_trace_sha256"]);
  EXPECT_NE(a["loss_trace_sha256"], c["loss_trace_sha256"]);

  const auto la = step_losses(tmp / "a");
  const auto lb = step_losses(tmp / "b");
  const auto lc = step_losses(tmp / "c");
  ASSERT_EQ(la.size(), 8u);
  EXPECT_EQ(la, lb);  // bit-identical
  EXPECT_NE(la, lc);
}

// The same on a GPU in deterministic mode (skips without one).
TEST(CliReproCuda, SameSeedSameWeightsOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA device (none visible)";
  TempDir tmp("cli-repro-gpu");
  const std::vector<std::string> gpu = {"--set", "train.device=cuda", "--set", "model.name=cnn", "--seed", "3",
                                        "--json"};
  auto run_in = [&](const std::string& d) {
    std::vector<std::string> a = gpu;
    a.insert(a.end(), {"--run-dir", (tmp / d).string()});
    return train_ok(tiny(a), tmp.path());
  };
  const json a = run_in("a"), b = run_in("b");
  EXPECT_EQ(a["device"], "cuda:0");
  EXPECT_EQ(a["weights_sha256"], b["weights_sha256"]);
  EXPECT_EQ(step_losses(tmp / "a"), step_losses(tmp / "b"));
}

// Loader threads and prefetch depth change timing only: with augmentation on, 1 thread and 4
// threads give the same weights and the same per-step losses.
TEST(CliRepro, LoaderThreadCountDoesNotChangeTheRun) {
  TempDir tmp("cli-threads");
  const std::vector<std::string> aug = {"--set", "augment.crop_padding=2", "--set", "augment.hflip=true", "--json"};
  auto with = [&](const std::string& threads, const std::string& prefetch, const std::string& dir) {
    std::vector<std::string> a = aug;
    a.insert(a.end(), {"--set", "loader.threads=" + threads, "--set", "loader.prefetch=" + prefetch, "--run-dir",
                       (tmp / dir).string()});
    return train_ok(tiny(a), tmp.path());
  };
  const json one = with("1", "1", "one"), four = with("4", "8", "four");
  ASSERT_TRUE(is_sha256_hex(one.value("weights_sha256", json())));
  EXPECT_EQ(one["weights_sha256"], four["weights_sha256"]);
  EXPECT_EQ(step_losses(tmp / "one"), step_losses(tmp / "four"));
  for (const auto& r : read_metrics(tmp / "four")) {
    if (r.value("type", "") == "step") {
      EXPECT_TRUE(r.contains("data_wait_ms")) << r.dump();
    }
  }
}

// Deterministic mode leaves LibTorch's NaN fill of new tensors off (repro.fill_uninitialized):
// it is a check, not a source of determinism. With the fill on, a kernel that read memory it
// never wrote would see NaN instead of old bytes and change the run. Every built-in image
// model (the small CNN in both layouts: conv, batch norm, max-pool, kiln's dropout, the NHWC
// flatten; the ResNet; the MLP) gives the same weights and losses either way, and the
// manifest says which held.
TEST(CliRepro, FillingNewMemoryWithNaNChangesNothing) {
  const std::vector<std::vector<std::string>> models = {
      {"--set", "model.name=cnn"},
      {"--set", "model.name=cnn", "--set", "model.channels_last=true"},
      {"--set", "model.name=resnet"},
      {"--set", "model.name=mlp"}};
  for (const auto& model : models) {
    SCOPED_TRACE(model.back());
    TempDir tmp("cli-fill");
    auto with = [&](const std::string& fill, const std::string& dir) {
      std::vector<std::string> extra = model;
      extra.insert(extra.end(), {"--set", "repro.fill_uninitialized=" + fill, "--seed", "5", "--json", "--run-dir",
                                 (tmp / dir).string()});
      return train_ok(tiny(extra), tmp.path());
    };
    const json off = with("false", "off"), on = with("true", "on");
    ASSERT_TRUE(is_sha256_hex(off.value("weights_sha256", json())));
    EXPECT_EQ(off["weights_sha256"], on["weights_sha256"]);
    EXPECT_EQ(step_losses(tmp / "off"), step_losses(tmp / "on"));
    auto filled = [&](const std::string& dir) {
      const json m = json::parse(read_file(tmp / dir / "manifest.json"));
      return m.at("environment").at("fill_uninitialized_memory");
    };
    EXPECT_EQ(filled("off"), false);
    EXPECT_EQ(filled("on"), true);
  }
}

// ---------------------------------------------------------------------------------------
// kiln bench loader: a small measurement prints its figures as the last JSON line.

TEST(CliBench, LoaderPrintsFiguresAsJson) {
  TempDir tmp("cli-bench");
  const RunResult r = kiln_test::run(kiln({"bench", "loader", "--set", "data.limit_train=2048", "--set",
                                           "loader.threads=2", "--epochs", "1", "--json"}),
                                     {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j.has_value()) << r.describe();
  EXPECT_EQ((*j)["samples"], 2048);
  EXPECT_EQ((*j)["batch_size"], 256);  // the standard measurement's batch without a config
  EXPECT_EQ((*j)["threads"], 2);
  EXPECT_EQ((*j)["augment"]["crop_padding"], 2);
  for (const char* k : {"samples_per_s", "mb_per_s", "no_augment_samples_per_s", "memcpy_samples_per_s"}) {
    ASSERT_TRUE((*j)[k].is_number()) << k;
    EXPECT_GT((*j)[k].get<double>(), 0.0) << k;
  }
  EXPECT_TRUE(tree(tmp.path()).empty()) << "the bench wrote files";
}

TEST(CliBench, LoaderBadKeyIsUsageError) {
  TempDir tmp("cli-bench-bad");
  const RunResult r = kiln_test::run(kiln({"bench", "loader", "--set", "loader.thread=2"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("did you mean 'loader.threads'"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------------------
// --print-config and config round trips.

TEST(CliConfig, PrintConfigIsTomlAndRoundTrips) {
  TempDir tmp("cli-config");
  const RunResult r1 = kiln_test::run(kiln({"train", "--print-config"}), {tmp.path()});
  ASSERT_EQ(r1.exit_code, 0) << r1.describe();
  ASSERT_FALSE(r1.out.empty());
  try {
    const toml::table t = toml::parse(r1.out);
    EXPECT_TRUE(t["optim"]["lr"].is_floating_point()) << r1.out;
    EXPECT_TRUE(t["model"]["name"].is_string()) << r1.out;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "--print-config output is not TOML: " << e.what() << "\n" << r1.out;
  }

  // Feeding the printed config back prints the very same bytes.
  write_file(tmp / "printed.toml", r1.out);
  const RunResult r2 = kiln_test::run(kiln({"train", (tmp / "printed.toml").string(), "--print-config"}), {tmp.path()});
  ASSERT_EQ(r2.exit_code, 0) << r2.describe();
  EXPECT_EQ(r2.out, r1.out);

  // --print-config writes nothing.
  EXPECT_EQ(tree(tmp.path()), std::vector<std::string>{"printed.toml"});
}

TEST(CliConfig, PrintConfigShowsSetOverride) {
  TempDir tmp("cli-config");
  const RunResult r = kiln_test::run(kiln({"train", "--set", "optim.lr=0.01", "--print-config"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  bool found = false;
  for (const auto& line : split_lines(r.out)) {
    if (line.rfind("lr = 0.01", 0) == 0 && (line.size() == 9 || line[9] == ' ' || line[9] == '#')) found = true;
  }
  EXPECT_TRUE(found) << "no `lr = 0.01` line in\n" << r.out;
  try {
    const toml::table t = toml::parse(r.out);
    EXPECT_EQ(t["optim"]["lr"].value<double>(), 0.01);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

TEST(CliConfig, RunDirConfigReproducesTheRun) {
  TempDir tmp("cli-config");
  const fs::path d1 = tmp / "run1";
  const fs::path d2 = tmp / "run2";
  // Run 1 with overrides (500 samples: ceil(500 / 64) = 8 steps, the last one partial).
  const json j1 = train_ok(tiny({"--seed", "7", "--set", "optim.lr=0.002", "--set", "model.mlp.hidden=[64]", "--set",
                                 "data.limit_train=500", "--json", "--run-dir", d1.string()}),
                           tmp.path());
  EXPECT_EQ(j1.value("steps", json()), 8);
  // Run 2 from run 1's config.toml alone.
  const json j2 =
      train_ok(kiln({"train", (d1 / "config.toml").string(), "--json", "--run-dir", d2.string()}), tmp.path());
  ASSERT_TRUE(is_sha256_hex(j1.value("weights_sha256", json())));
  EXPECT_EQ(j2.value("weights_sha256", json()), j1["weights_sha256"]);
  EXPECT_EQ(j2.value("steps", json()), j1["steps"]);
  EXPECT_EQ(j2.value("seed", json()), 7);
  EXPECT_EQ(read_file(d2 / "config.toml"), read_file(d1 / "config.toml"));
  EXPECT_EQ(step_losses(d2), step_losses(d1));
}

// ---------------------------------------------------------------------------------------
// Bad input: exit 2, a clear message on stderr, nothing written.

class CliInTempDir : public ::testing::Test {
 protected:
  TempDir tmp{"cli-bad"};

  // Runs kiln (argv without the binary) with its cwd in the temp dir and expects exit 2, an
  // empty stdout, stderr holding every needle (case-insensitive), and no new file anywhere
  // in the temp dir (no --run-dir, no runs/). Returns the result for further checks.
  RunResult expect_usage_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) {
    const auto before = tree(tmp.path());
    RunOptions opts{tmp.path()};
    opts.timeout = 60s;
    const RunResult r = kiln_test::run(kiln(args), opts);
    EXPECT_FALSE(r.timed_out) << r.describe();
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_EQ(r.out, "") << r.describe();
    EXPECT_FALSE(r.err.empty());
    for (const auto& n : needles) EXPECT_TRUE(contains_nocase(r.err, n)) << "stderr lacks '" << n << "'\n" << r.err;
    EXPECT_FALSE(fs::exists(tmp / "runs")) << "a runs/ directory was created";
    EXPECT_FALSE(fs::exists(tmp / "out")) << "the --run-dir was created";
    EXPECT_EQ(tree(tmp.path()), before) << "the command wrote files";
    return r;
  }

  // Tiny training arguments (so that a missed error would not run long), with --run-dir out.
  static std::vector<std::string> tiny_args(std::vector<std::string> extra) {
    std::vector<std::string> a = tiny();
    a.erase(a.begin());  // the binary; expect_usage_error adds it
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Copies the four real Fashion-MNIST .gz files into <tmp>/data.
  fs::path copy_fashion() {
    const fs::path data = tmp / "data";
    fs::create_directories(data);
    for (const char* f : kFashionFiles) {
      const std::string gz = std::string(f) + ".gz";
      fs::copy_file(kFashionDir / gz, data / gz);
    }
    return data;
  }
};

class CliBadInput : public CliInTempDir {};

TEST_F(CliBadInput, ConfigUnknownKeyNamesFileLineAndSuggests) {
  write_file(tmp / "unk.toml", "[optim]\nlr = 0.001\nlrr = 0.002\n");
  expect_usage_error({"train", "unk.toml", "--run-dir", "out"}, {"unk.toml:3", "lrr", "did you mean 'optim.lr'"});
}

TEST_F(CliBadInput, ConfigUnknownKeyWithoutRunDirCreatesNoRunsDir) {
  write_file(tmp / "unk.toml", "[model]\nnmae = \"mlp\"\n");
  expect_usage_error({"train", "unk.toml"}, {"unk.toml:2", "did you mean 'model.name'"});
}

TEST_F(CliBadInput, ConfigWrongType) {
  write_file(tmp / "type.toml", "[optim]\nlr = \"fast\"\n");
  expect_usage_error({"train", "type.toml", "--run-dir", "out"}, {"type.toml:2", "optim.lr"});
}

TEST_F(CliBadInput, ConfigOutOfRange) {
  write_file(tmp / "neg.toml", "[optim]\nlr = -1\n");
  expect_usage_error({"train", "neg.toml", "--run-dir", "out"}, {"neg.toml:2", "optim.lr"});
}

TEST_F(CliBadInput, ConfigInvalidToml) {
  write_file(tmp / "broken.toml", "[optim\nlr = 1\n");
  expect_usage_error({"train", "broken.toml", "--run-dir", "out"}, {"broken.toml:1"});
}

TEST_F(CliBadInput, ConfigFileMissing) {
  expect_usage_error({"train", "missing.toml", "--run-dir", "out"}, {"missing.toml"});
}

TEST_F(CliBadInput, SetUnknownKey) {
  expect_usage_error(tiny_args({"--set", "optim.lrr=0.1", "--run-dir", "out"}),
                     {"optim.lrr", "did you mean 'optim.lr'"});
}

TEST_F(CliBadInput, SetValueNotANumber) {
  expect_usage_error(tiny_args({"--set", "optim.lr=abc", "--run-dir", "out"}), {"optim.lr", "abc"});
}

TEST_F(CliBadInput, DataDirEmpty) {
  fs::create_directories(tmp / "empty");
  const RunResult r = expect_usage_error(tiny_args({"--set", "data.dir=empty"}), {"empty"});
  bool names_file = false;
  for (const char* f : kFashionFiles) names_file = names_file || r.err.find(f) != std::string::npos;
  EXPECT_TRUE(names_file) << "stderr names no Fashion-MNIST file:\n" << r.err;
}

TEST_F(CliBadInput, DataTruncatedGzipLabels) {
  const fs::path data = copy_fashion();
  const fs::path labels = data / "train-labels-idx1-ubyte.gz";
  fs::resize_file(labels, fs::file_size(labels) / 2);
  expect_usage_error(tiny_args({"--set", "data.dir=" + data.string(), "--run-dir", "out"}),
                     {"train-labels-idx1-ubyte", "truncated"});
}

TEST_F(CliBadInput, DataTruncatedPlainLabels) {
  // An uncompressed IDX file whose header promises more labels than it holds.
  const fs::path data = copy_fashion();
  fs::remove(data / "train-labels-idx1-ubyte.gz");
  const RunResult g = kiln_test::run({"gzip", "-dc", (kFashionDir / "train-labels-idx1-ubyte.gz").string()});
  ASSERT_EQ(g.exit_code, 0) << g.describe();
  ASSERT_GT(g.out.size(), 1000u);
  write_file(data / "train-labels-idx1-ubyte", g.out.substr(0, 1000));
  expect_usage_error(tiny_args({"--set", "data.dir=" + data.string()}), {"train-labels-idx1-ubyte", "truncated"});
}

TEST_F(CliBadInput, UnknownModelSuggestsMlp) {
  expect_usage_error(tiny_args({"--set", "model.name=mpl"}), {"mpl", "did you mean 'mlp'"});
}

TEST_F(CliBadInput, UnknownTaskSuggestsClassification) {
  expect_usage_error(tiny_args({"--set", "train.task=clasification"}),
                     {"unknown task 'clasification' (train.task)", "did you mean 'classification'"});
}

TEST_F(CliBadInput, MistypedSubcommand) { expect_usage_error({"trian"}, {"trian", "did you mean 'train'"}); }

TEST_F(CliBadInput, MistypedOption) {
  expect_usage_error(tiny_args({"--jsn", "--run-dir", "out"}), {"--jsn", "did you mean '--json'"});
}

TEST_F(CliBadInput, NonEmptyRunDir) {
  fs::create_directories(tmp / "existing");
  write_file(tmp / "existing" / "keep.txt", "precious\n");
  expect_usage_error(tiny_args({"--run-dir", "existing"}), {"existing", "not empty"});
  EXPECT_EQ(read_file(tmp / "existing" / "keep.txt"), "precious\n");
}

// ---------------------------------------------------------------------------------------
// Commands of the interface that are not built yet.

class CliPending : public CliInTempDir {};

TEST_F(CliPending, VerifyOfANonRunDirIsUsageError) {
  expect_usage_error({"verify", "somedir"}, {"not a kiln run dir"});
}

// ---------------------------------------------------------------------------------------
// version and help.

TEST(CliVersion, JsonHasKilnAndLibtorch) {
  TempDir tmp("cli-version");
  const RunResult r = kiln_test::run(kiln({"version", "--json"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  ASSERT_TRUE(j.has_value() && j->is_object()) << r.describe();
  ASSERT_TRUE(j->contains("kiln") && (*j)["kiln"].is_string()) << j->dump();
  ASSERT_TRUE(j->contains("libtorch") && (*j)["libtorch"].is_string()) << j->dump();
  EXPECT_FALSE((*j)["kiln"].get<std::string>().empty());
  EXPECT_TRUE(std::regex_search((*j)["libtorch"].get<std::string>(), std::regex("^[0-9]+\\.[0-9]+"))) << j->dump();
  EXPECT_TRUE(tree(tmp.path()).empty());
}

void expect_help_mentions_train_options(const std::vector<std::string>& args) {
  TempDir tmp("cli-help");
  const RunResult r = kiln_test::run(kiln(args), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string text = r.out + r.err;
  for (const char* opt : {"--set", "--json", "--run-dir"}) {
    EXPECT_NE(text.find(opt), std::string::npos) << "help does not mention " << opt << "\n" << text;
  }
  EXPECT_TRUE(tree(tmp.path()).empty());
}

TEST(CliHelp, TopLevelHelpMentionsTrainOptions) { expect_help_mentions_train_options({"--help"}); }

TEST(CliHelp, TrainHelpMentionsOptions) { expect_help_mentions_train_options({"train", "--help"}); }

// ---------------------------------------------------------------------------------------
// Signals: a longer run stopped by SIGTERM / SIGINT exits 143 / 130 after a checkpoint.

void expect_clean_stop(int sig, int expected_exit) {
  TempDir tmp("cli-signal");
  const fs::path dir = tmp / "run";
  // The full 60k training set, many epochs: far longer than the test waits, even on a GPU.
  Child child(kiln({"train", "--set", "train.epochs=20", "--set", "log.progress=off", "--run-dir", dir.string()}),
              {tmp.path()});
  // The manifest is written once the run has started (and the handlers are installed).
  const bool started = child.wait_for_output(
      [&](const std::string&, const std::string&) { return fs::exists(dir / "manifest.json"); }, 90s);
  ASSERT_TRUE(started) << "the run did not start\n" << child.err_so_far();
  ASSERT_TRUE(child.running()) << "the run ended before the signal\n" << child.err_so_far();
  struct timespec ts {
    0, 300'000'000
  };
  nanosleep(&ts, nullptr);  // let it take a few steps
  child.signal(sig);
  const RunResult r = child.wait(90s);  // SIGKILLs on the deadline: the test cannot hang
  ASSERT_FALSE(r.timed_out) << "no exit within 90 s of the signal\n" << r.describe();
  EXPECT_EQ(r.term_signal, 0) << r.describe();
  EXPECT_EQ(r.exit_code, expected_exit) << r.describe();

  std::vector<fs::path> step_checkpoints;
  if (fs::is_directory(dir / "checkpoints")) {
    for (const auto& e : fs::directory_iterator(dir / "checkpoints")) {
      const std::string name = e.path().filename().string();
      if (name.rfind("step-", 0) == 0 && e.path().extension() == ".pt") step_checkpoints.push_back(e.path());
    }
  }
  ASSERT_FALSE(step_checkpoints.empty()) << "no checkpoints/step-*.pt in " << dir << "\n" << r.describe();
  for (const auto& p : step_checkpoints) EXPECT_GT(fs::file_size(p), 0u) << p;
}

TEST(CliSignal, SigtermStopsWithCheckpointAndExit143) { expect_clean_stop(SIGTERM, 143); }

TEST(CliSignal, SigintStopsWithCheckpointAndExit130) { expect_clean_stop(SIGINT, 130); }

}  // namespace
