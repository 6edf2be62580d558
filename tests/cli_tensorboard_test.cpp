// TensorBoard event files, read back by TensorBoard's own readers (tests/interop/tb_read.py:
// its CRC-checking record reader and its EventAccumulator): every value kiln logged to
// metrics.jsonl is in the event file as TensorBoard sees it; a resumed run shows each step
// once; a sweep's trials carry their hyperparameters for the HParams view.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "cli_helpers.h"
#include "util/crc32c.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> tiny_run(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=640",
                                "--set",
                                "data.limit_test=128",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "train.grad_clip=1.0",
                                "--set",
                                "log.every=3",
                                "--set",
                                "log.progress=off",
                                "--seed",
                                "3",
                                "--run-dir",
                                dir.string(),
                                "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

// TensorBoard's view of a log dir, or a gtest failure.
json tb_read(const fs::path& logdir) {
  const std::string py = KILN_TEST_PYTHON;
  const RunResult r = kiln_test::run({py, std::string(KILN_SOURCE_DIR) + "/tests/interop/tb_read.py", logdir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto j = kiln_test::last_json_line(r.out);
  EXPECT_TRUE(j) << r.describe();
  return j.value_or(json::object());
}

bool have_tensorboard() {
  const std::string py = KILN_TEST_PYTHON;
  return !py.empty() && kiln_test::run({py, "-c", "import tensorboard"}).exit_code == 0;
}

// step -> value of one scalar tag, failing on a step seen twice.
std::map<int64_t, double> series(const json& tb, const std::string& tag) {
  std::map<int64_t, double> out;
  if (!tb["scalars"].contains(tag)) {
    ADD_FAILURE() << "no scalar '" << tag << "' in " << tb["scalars"].dump().substr(0, 400);
    return out;
  }
  for (const auto& e : tb["scalars"][tag]) {
    const int64_t step = e[0].get<int64_t>();
    EXPECT_FALSE(out.count(step)) << tag << " has step " << step << " twice";
    out[step] = e[1].get<double>();
  }
  return out;
}

// Every step and eval record of metrics.jsonl, as float32 (TensorBoard's scalar type).
void expect_matches_metrics(const json& tb, const fs::path& run) {
  const auto steps = kiln_test::metrics_records(run, "step");
  ASSERT_FALSE(steps.empty());
  const auto loss = series(tb, "train/loss"), lr = series(tb, "train/lr"), norm = series(tb, "train/grad_norm"),
             wait = series(tb, "train/data_wait_ms");
  EXPECT_EQ(loss.size(), steps.size());
  for (const auto& r : steps) {
    const int64_t s = r["step"].get<int64_t>();
    ASSERT_TRUE(loss.count(s)) << "step " << s << " missing from train/loss";
    EXPECT_EQ(loss.at(s), double(float(r["loss"].get<double>()))) << "step " << s;
    EXPECT_EQ(lr.at(s), double(float(r["lr"].get<double>()))) << "step " << s;
    EXPECT_EQ(norm.at(s), double(float(r["grad_norm"].get<double>()))) << "step " << s;
    EXPECT_EQ(wait.at(s), double(float(r["data_wait_ms"].get<double>()))) << "step " << s;
  }
  const auto evals = kiln_test::metrics_records(run, "eval");
  ASSERT_FALSE(evals.empty());
  for (const std::string m : {"test_loss", "test_accuracy"}) {
    const auto e = series(tb, "eval/" + m);
    EXPECT_EQ(e.size(), evals.size()) << m;
    for (const auto& r : evals) {
      const int64_t s = r["step"].get<int64_t>();
      ASSERT_TRUE(e.count(s)) << m << " at step " << s;
      EXPECT_EQ(e.at(s), double(float(r[m].get<double>())));
    }
  }
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Crc32c, KnownVectorsAndMask) {
  EXPECT_EQ(kiln::util::crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(kiln::util::crc32c(""), 0u);
  EXPECT_EQ(kiln::util::crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4: 32 zero bytes
  const uint32_t c = kiln::util::crc32c("abc");
  EXPECT_EQ(kiln::util::masked_crc32c("abc"), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(CliTensorboard, EveryLoggedValueIsInTheEventFileAsTensorBoardReadsIt) {
  if (!have_tensorboard()) GTEST_SKIP() << "the venv has no tensorboard (tools/bootstrap.sh installs it)";
  TempDir tmp("tb");
  const fs::path run = tmp / "run";
  const RunResult r = kiln_test::run(tiny_run(run), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  ASSERT_EQ(event_files(run / "tb").size(), 1u);
  const json tb = tb_read(run / "tb");
  EXPECT_GT(tb["records"].begin()->get<int>(), 20);  // file_version, texts, 20 steps, evals, throughput
  expect_matches_metrics(tb, run);
  // Throughput every log.every (3) steps, and at the last step; positive.
  const auto rate = series(tb, "train/samples_per_s");
  EXPECT_GE(rate.size(), 5u);
  for (const auto& [s, v] : rate) {
    EXPECT_TRUE(s % 3 == 0 || s == 20) << s;
    EXPECT_GT(v, 0) << s;
  }
  // The config as text, as config.toml holds it (indented: Markdown's verbatim block).
  ASSERT_TRUE(tb["text"].contains("config")) << tb["text"].dump();
  const std::string text = tb["text"]["config"][0];
  std::ifstream in(run / "config.toml");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) EXPECT_NE(text.find("    " + line), std::string::npos) << line;
  }
  EXPECT_TRUE(tb["text"].contains("environment"));
  // Wall times are Unix seconds of this run, each step's own: strictly increasing (a flush of
  // log.every = 3 records no longer shares one), and within a flush (steps 3k+1..3k+3 of one
  // epoch of 10) exactly as far apart as the steps' time_s in metrics.jsonl.
  std::map<int64_t, double> wall, time_s;
  for (const auto& e : tb["scalars"]["train/loss"]) wall[e[0].get<int64_t>()] = e[2].get<double>();
  for (const auto& r : kiln_test::metrics_records(run, "step")) time_s[r["step"]] = r["time_s"].get<double>();
  ASSERT_EQ(wall.size(), 20u);
  int same_flush = 0;
  for (int64_t s = 2; s <= 20; ++s) {
    EXPECT_GT(wall.at(s), wall.at(s - 1)) << "step " << s;
    const bool flushed_together = (s - 1) % 3 != 0 && (s - 1) % 10 != 0;
    if (!flushed_together) continue;
    ++same_flush;
    EXPECT_NEAR(wall.at(s) - wall.at(s - 1), time_s.at(s) - time_s.at(s - 1), 1e-4) << "step " << s;
  }
  EXPECT_GE(same_flush, 10);
  EXPECT_GT(wall.at(1), 1.7e9);
}

TEST(CliTensorboard, TheRecordReaderRejectsAFlippedByte) {
  if (!have_tensorboard()) GTEST_SKIP() << "the venv has no tensorboard";
  TempDir tmp("tb-crc");
  const fs::path run = tmp / "run";
  ASSERT_EQ(kiln_test::run(tiny_run(run, {"--set", "train.epochs=1"}), {tmp.path()}).exit_code, 0);
  const fs::path f = event_files(run / "tb").at(0);
  std::string bytes = kiln_test::read_file(f);
  ASSERT_GT(bytes.size(), 200u);
  bytes[bytes.size() / 2] ^= 0x01;  // somewhere inside a record
  kiln_test::write_file(f, bytes);
  const RunResult r = kiln_test::run(
      {KILN_TEST_PYTHON, std::string(KILN_SOURCE_DIR) + "/tests/interop/tb_read.py", (run / "tb").string()});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("crc32 check"), std::string::npos) << r.err;
}

TEST(CliTensorboard, AResumedRunShowsEveryStepOnce) {
  if (!have_tensorboard()) GTEST_SKIP() << "the venv has no tensorboard";
  TempDir tmp("tb-resume");
  const fs::path run = tmp / "run";
  // A checkpoint every 4 steps, killed after 11: steps 9-11 were logged and are trained again.
  const auto args = tiny_run(run, {"--set", "checkpoint.every=4", "--set", "log.every=1"});
  kiln_test::kill_after_steps(args, tmp.path(), run, 11);
  auto resumed = args;
  resumed.insert(resumed.end(), {"--resume", "auto"});
  const RunResult r = kiln_test::run(resumed, {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  ASSERT_EQ(event_files(run / "tb").size(), 2u);
  const json tb = tb_read(run / "tb");
  expect_matches_metrics(tb, run);  // metrics.jsonl was trimmed and refilled the same way
  EXPECT_EQ(series(tb, "train/loss").size(), 20u);
}

// fp16: the GradScaler's scale of each step is a scalar, as metrics.jsonl records it.
TEST(CliTensorboard, Fp16LossScaleIsAScalarPerStep) {
  if (!have_tensorboard()) GTEST_SKIP() << "the venv has no tensorboard";
  TempDir tmp("tb-fp16");
  const fs::path run = tmp / "run";
  const RunResult r =
      kiln_test::run(tiny_run(run, {"--set", "train.epochs=1", "--set", "train.precision=fp16"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto scale = series(tb_read(run / "tb"), "train/loss_scale");
  const auto steps = kiln_test::metrics_records(run, "step");
  ASSERT_EQ(scale.size(), steps.size());
  for (const auto& rec : steps) {
    const int64_t s = rec["step"].get<int64_t>();
    ASSERT_TRUE(rec.contains("loss_scale")) << rec.dump();
    EXPECT_EQ(scale.at(s), double(float(rec["loss_scale"].get<double>()))) << "step " << s;
    EXPECT_GT(scale.at(s), 0) << "step " << s;
  }
}

TEST(CliTensorboard, OffWritesNoEventFile) {
  TempDir tmp("tb-off");
  const fs::path run = tmp / "run";
  ASSERT_EQ(kiln_test::run(tiny_run(run, {"--set", "train.epochs=1", "--set", "log.tensorboard=false"}), {tmp.path()})
                .exit_code,
            0);
  EXPECT_FALSE(fs::exists(run / "tb"));
  EXPECT_TRUE(fs::exists(run / "summary.json"));
}

TEST(CliTensorboard, SweepTrialsCarryTheirHyperparametersForTheHParamsView) {
  if (!have_tensorboard()) GTEST_SKIP() << "the venv has no tensorboard";
  TempDir tmp("tb-sweep");
  kiln_test::write_file(
      tmp / "s.toml",
      "name = \"t\"\n[objective]\nmetric = \"test_accuracy\"\n[sampler]\nname = \"random\"\nseed = 1\n"
      "[base.data]\nlimit_train = 256\nlimit_test = 128\n[base.loader]\nbatch_size = 64\n"
      "[base.train]\nepochs = 1\n[base.log]\nprogress = \"off\"\n"
      "[space.\"optim.lr\"]\ntype = \"float\"\nlow = 1e-4\nhigh = 1e-2\nlog = true\n"
      "[space.\"optim.name\"]\ntype = \"categorical\"\nchoices = [\"adamw\", \"sgd\"]\n");
  const RunResult r = kiln_test::run(kiln({"sweep", "s.toml", "--trials", "2", "--dir", "sw"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const json exp = tb_read(tmp / "sw" / "tb");
  ASSERT_TRUE(exp["hparams"].contains("_hparams_/experiment")) << exp.dump();
  const json e = exp["hparams"]["_hparams_/experiment"]["experiment"];
  std::set<std::string> names;
  for (const auto& h : e["hparam_infos"]) names.insert(h["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"optim.lr", "optim.name"}));
  EXPECT_EQ(e["metric_infos"][0]["name"]["tag"], "eval/test_accuracy");
  for (const std::string n : {"0000", "0001"}) {
    const fs::path run = tmp / "sw" / "trials" / n / "run";
    const json tb = tb_read(run / "tb");
    ASSERT_TRUE(tb["hparams"].contains("_hparams_/session_start_info")) << tb.dump().substr(0, 500);
    const json start = tb["hparams"]["_hparams_/session_start_info"]["session_start_info"];
    // The values the trial trained with, from its own config.
    const std::string cfg = kiln_test::read_file(run / "config.toml");
    // (MessageToDict turns google.protobuf.Value into the plain JSON value.)
    const std::string name = start["hparams"]["optim.name"];
    EXPECT_NE(cfg.find("name = \"" + name + "\""), std::string::npos) << name;
    const double lr = start["hparams"]["optim.lr"];
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-2);
    const auto trial = kiln_test::metrics_records(run, "step");
    ASSERT_FALSE(trial.empty());
    EXPECT_DOUBLE_EQ(trial[0]["lr"].get<double>(), lr);  // constant schedule, no warm-up
    EXPECT_EQ(start["group_name"], "trial " + n);
    EXPECT_EQ(tb["hparams"]["_hparams_/session_end_info"]["session_end_info"]["status"], "STATUS_SUCCESS");
    EXPECT_FALSE(series(tb, "eval/test_accuracy").empty());
  }
}

}  // namespace
