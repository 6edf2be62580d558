// End-to-end tests of the language-model path: configs/lm_bytes.toml (a transformer on the
// fortunes text) trains with small limits to a validation loss well below log(256), `kiln
// generate` prints text (the same for a seed), `kiln verify` replays it, a SIGKILL + resume
// gives the same weights, the loader's thread count does not change them, and bad token
// files stop the run naming the file and offset before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kConfig = std::string(KILN_SOURCE_DIR) + "/configs/lm_bytes.toml";

// The shipped config, cut down: `steps` optimizer steps, a 200-window validation split.
std::vector<std::string> args(const fs::path& run, int64_t steps, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",     kConfig,
                                "--set",     "train.max_steps=" + std::to_string(steps),
                                "--set",     "schedule.warmup_steps=20",
                                "--set",     "data.limit_test=200",
                                "--set",     "log.progress=off",
                                "--set",     "train.threads=2",
                                "--json",    "--run-dir",
                                run.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

json train(const std::vector<std::string>& argv, const fs::path& cwd) {
  return kiln_test::train_summary(argv, cwd, 600s);
}

TEST(CliLanguageModel, ShippedConfigLearnsGeneratesAndVerifies) {
  TempDir tmp("lm");
  const fs::path run = tmp / "run";
  const json s = train(args(run, 150), tmp.path());
  ASSERT_TRUE(s.contains("test_loss")) << s.dump();
  EXPECT_EQ(s["task"], "language-model");
  EXPECT_LT(s["test_loss"].get<double>(), 3.5) << "log(256) = 5.55 is a model that learned nothing";
  EXPECT_NEAR(s["test_perplexity"].get<double>(), std::exp(s["test_loss"].get<double>()), 1e-6);
  EXPECT_NEAR(s["tokens_per_s"].get<double>(), s["samples_per_s"].get<double>() * 128, 1e-6);
  const json manifest = json::parse(kiln_test::read_file(run / "manifest.json"));
  EXPECT_EQ(manifest["dataset"]["outputs"], 256);
  EXPECT_EQ(manifest["dataset"]["input"]["shape"], json::array({128}));
  EXPECT_EQ(manifest["dataset"]["train_fingerprint"].get<std::string>().rfind("tokens:", 0), 0u);

  // Text, continuing the prompt; the same seed gives the same text, another seed other text.
  auto generate = [&](const std::string& seed) {
    const RunResult r =
        kiln_test::run(kiln({"-q", "generate", run.string(), "--prompt", "The ", "--tokens", "80", "--seed", seed}));
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return r.out;
  };
  const std::string a = generate("1"), b = generate("1"), c = generate("2");
  EXPECT_EQ(a.rfind("The ", 0), 0u) << a;
  EXPECT_EQ(a.size(), 4u + 80u + 1u) << "prompt, 80 bytes, a newline: " << a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  size_t letters = 0;
  for (char ch : a) letters += std::isalpha(static_cast<unsigned char>(ch)) || ch == ' ' ? 1 : 0;
  EXPECT_GT(letters, a.size() / 2) << "mostly letters and spaces, as the text it learned: " << a;
  const RunResult greedy = kiln_test::run(kiln({"generate", run.string(), "--temperature", "0", "--json"}));
  ASSERT_EQ(greedy.exit_code, 0) << greedy.describe();
  const auto gj = kiln_test::last_json_line(greedy.out);
  ASSERT_TRUE(gj) << greedy.out;
  EXPECT_EQ((*gj)["tokens"], 200);
  EXPECT_EQ((*gj)["checkpoint"], (run / "checkpoints" / "final.pt").string());

  const RunResult v = kiln_test::run(kiln({"verify", run.string(), "--json"}), {tmp.path(), 600s});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
}

TEST(CliLanguageModel, SigkillThenResumeAndOtherLoaderThreadsGiveTheSameWeights) {
  TempDir tmp("lm");
  const std::vector<std::string> small = {
      "--set", "data.seq_len=64",           "--set", "loader.batch_size=16",
      "--set", "checkpoint.every=5",        "--set", "model.transformer.dropout=0.1",
      "--set", "model.transformer.layers=2"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = small;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const json whole = train(args(tmp / "whole", 40, with({"--set", "loader.threads=1"})), tmp.path());
  const json threads = train(args(tmp / "threads", 40, with({"--set", "loader.threads=3"})), tmp.path());
  ASSERT_TRUE(whole.contains("weights_sha256")) << whole.dump();
  EXPECT_EQ(whole["weights_sha256"], threads["weights_sha256"]);
  const fs::path run = tmp / "killed";
  kiln_test::kill_after_steps(args(run, 40, with({"--set", "loader.threads=2"})), tmp.path(), run, 23);
  const json resumed = train(args(run, 40, with({"--set", "loader.threads=2", "--resume", "auto"})), tmp.path());
  EXPECT_EQ(resumed.value("weights_sha256", "resumed"), whole.value("weights_sha256", "whole"));
}

// LibTorch's NaN fill of new memory (repro.fill_uninitialized, off by default) changes nothing
// in the transformer either (with its dropout on): no kernel on its path reads memory it did
// not write. cli_train_test.cpp has the image models.
TEST(CliLanguageModel, FillingNewMemoryWithNaNChangesNothing) {
  TempDir tmp("lm-fill");
  const std::vector<std::string> small = {"--set",  "data.seq_len=32",
                                          "--set",  "loader.batch_size=8",
                                          "--set",  "model.transformer.dropout=0.1",
                                          "--set",  "model.transformer.layers=1",
                                          "--seed", "5"};
  auto with = [&](const std::string& fill, const std::string& dir) {
    std::vector<std::string> extra = small;
    extra.insert(extra.end(), {"--set", "repro.fill_uninitialized=" + fill});
    return train(args(tmp / dir, 12, extra), tmp.path());
  };
  const json off = with("false", "off"), on = with("true", "on");
  ASSERT_TRUE(off.contains("weights_sha256")) << off.dump();
  EXPECT_EQ(off["weights_sha256"], on["weights_sha256"]);
  EXPECT_EQ(off["test_loss"], on["test_loss"]);
  const json m = json::parse(kiln_test::read_file(tmp / "on" / "manifest.json"));
  EXPECT_EQ(m.at("environment").at("fill_uninitialized_memory"), true);
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  kiln_test::write_file(p, std::string(bytes.begin(), bytes.end()));
}

TEST(CliLanguageModel, BadTokenFilesStopTheRunNamingFileAndOffsetAndWriteNothing) {
  TempDir tmp("lm");
  // An llm.c uint16 shard with one stray byte at the end.
  std::vector<uint8_t> shard(1024 + 2 * 3000 + 1, 0);
  const int32_t header[3] = {20240520, 1, 3000};
  std::memcpy(shard.data(), header, sizeof header);
  write_bytes(tmp / "odd.bin", shard);
  // Text with data.vocab = 100: the first byte at or above 100 ('x' = 120) is out of range.
  kiln_test::write_file(tmp / "text.txt", std::string(5000, 'a') + "x" + std::string(100, 'a'));
  struct Case {
    std::string train, extra, want;
  } cases[] = {{"odd.bin", "data.vocab=0", "odd.bin: 6001 bytes after the header, not a whole number"},
               {"text.txt", "data.vocab=100", "text.txt: token 5000 (byte offset 5000) is id 120"}};
  for (const Case& c : cases) {
    const RunResult r = kiln_test::run(kiln({"train", kConfig, "--set", "data.train=" + (tmp / c.train).string(),
                                             "--set", c.extra, "--run-dir", (tmp / "run").string()}),
                                       {tmp.path()});
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "run")) << "nothing written";
  }
}

}  // namespace
