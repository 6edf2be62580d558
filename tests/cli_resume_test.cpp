// End-to-end tests of resuming (`kiln train --resume`): a run killed with SIGKILL at several
// steps, or stopped with SIGTERM, and resumed, ends with the same weights and the same
// per-step losses as a run that never stopped; a corrupt newest checkpoint falls back to the
// previous one; a config that changes the computation is refused.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

using kiln_test::Child;
using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 2 epochs of 24 steps, an MLP with dropout (so the RNG matters), augmentation on, and a
// checkpoint after every step (which also slows the steps enough to kill the run mid-way).
std::vector<std::string> run_args(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1536",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "loader.batch_size=64",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "model.mlp.hidden=[256, 256]",
                                "--set",
                                "model.dropout=0.3",
                                "--set",
                                "augment.crop_padding=2",
                                "--set",
                                "augment.hflip=true",
                                "--set",
                                "checkpoint.every=1",
                                "--set",
                                "checkpoint.keep=2",
                                "--set",
                                "log.progress=off",
                                "--seed",
                                "5",
                                "--json",
                                "--run-dir",
                                dir.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

std::vector<double> losses(const fs::path& dir) {
  std::vector<double> out;
  for (const auto& r : kiln_test::metrics_records(dir, "step")) out.push_back(r["loss"].get<double>());
  return out;
}

int64_t last_logged_step(const fs::path& dir) {
  const auto r = kiln_test::metrics_records(dir, "step");
  return r.empty() ? 0 : r.back()["step"].get<int64_t>();
}

json finish(const std::vector<std::string>& argv, const fs::path& cwd) {
  const RunResult r = kiln_test::run(argv, {cwd});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

class CliResume : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ref_dir_ = new TempDir("cli-resume-ref");
    reference_ = new json(finish(run_args(ref_dir_->path() / "run"), ref_dir_->path()));
    ref_losses_ = new std::vector<double>(losses(ref_dir_->path() / "run"));
  }
  static void TearDownTestSuite() {
    delete ref_dir_;
    delete reference_;
    delete ref_losses_;
  }

  // Starts the run in `dir`, sends `sig` once metrics show step >= at_step, returns the result.
  static RunResult stop_at(const fs::path& dir, int at_step, int sig) {
    Child child(run_args(dir), {dir.parent_path()});
    const bool reached = child.wait_for_output(
        [&](const std::string&, const std::string&) { return last_logged_step(dir) >= at_step; }, 120s);
    EXPECT_TRUE(reached) << child.err_so_far();
    EXPECT_TRUE(child.running()) << "the run finished before the signal\n" << child.err_so_far();
    child.signal(sig);
    return child.wait(120s);
  }

  static void expect_matches_reference(const json& resumed, const fs::path& dir) {
    ASSERT_TRUE(reference_->contains("weights_sha256"));
    EXPECT_EQ(resumed.value("weights_sha256", ""), (*reference_)["weights_sha256"]);
    EXPECT_EQ(resumed.value("steps", 0), 48);
    EXPECT_EQ(resumed.value("epochs", 0), 2);
    EXPECT_EQ(losses(dir), *ref_losses_);  // every step once, bit-identical
    EXPECT_EQ(kiln_test::metrics_records(dir, "eval").size(), 2u);
  }

  static TempDir* ref_dir_;
  static json* reference_;
  static std::vector<double>* ref_losses_;
};

TempDir* CliResume::ref_dir_ = nullptr;
json* CliResume::reference_ = nullptr;
std::vector<double>* CliResume::ref_losses_ = nullptr;

TEST_F(CliResume, SigkillAtSeveralStepsThenResumeMatchesUninterrupted) {
  ASSERT_EQ(ref_losses_->size(), 48u);
  // Early, mid-epoch, at the epoch boundary and just after it, in the second epoch, and one
  // step before the end.
  for (int at : {2, 11, 24, 25, 37, 47}) {
    TempDir tmp("cli-resume-kill");
    const fs::path dir = tmp / "run";
    const RunResult killed = stop_at(dir, at, SIGKILL);
    ASSERT_EQ(killed.term_signal, SIGKILL) << killed.describe();
    const json resumed = finish(run_args(dir, {"--resume", "auto"}), tmp.path());
    SCOPED_TRACE("killed at step >= " + std::to_string(at));
    expect_matches_reference(resumed, dir);
  }
}

TEST_F(CliResume, SigtermExits143WithCheckpointAndResumeMatches) {
  TempDir tmp("cli-resume-term");
  const fs::path dir = tmp / "run";
  const RunResult stopped = stop_at(dir, 10, SIGTERM);
  EXPECT_EQ(stopped.exit_code, 143) << stopped.describe();
  EXPECT_NE(stopped.err.find("--resume auto --run-dir"), std::string::npos) << stopped.err;
  expect_matches_reference(finish(run_args(dir, {"--resume", "auto"}), tmp.path()), dir);
}

TEST_F(CliResume, SigtermThenSigintAbortsAndResumeMatches) {
  // The second signal aborts at once, possibly in the middle of the checkpoint the first one
  // asked for: the resume takes the newest complete one and still ends as the unbroken run.
  TempDir tmp("cli-resume-term-int");
  const fs::path dir = tmp / "run";
  Child child(run_args(dir), {tmp.path()});
  ASSERT_TRUE(
      child.wait_for_output([&](const std::string&, const std::string&) { return last_logged_step(dir) >= 14; }, 120s))
      << child.err_so_far();
  ASSERT_TRUE(child.running());
  child.signal(SIGTERM);
  child.signal(SIGINT);
  const RunResult stopped = child.wait(120s);
  EXPECT_NE(stopped.exit_code, 0) << stopped.describe();
  expect_matches_reference(finish(run_args(dir, {"--resume", "auto"}), tmp.path()), dir);
}

TEST_F(CliResume, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  TempDir tmp("cli-resume-corrupt");
  const fs::path dir = tmp / "run";
  const RunResult stopped = stop_at(dir, 12, SIGTERM);
  ASSERT_EQ(stopped.exit_code, 143) << stopped.describe();
  std::vector<fs::path> ckpts;
  for (const auto& e : fs::directory_iterator(dir / "checkpoints")) {
    if (e.path().extension() == ".pt" && e.path().filename().string().rfind("step-", 0) == 0) ckpts.push_back(e.path());
  }
  std::sort(ckpts.begin(), ckpts.end());
  ASSERT_EQ(ckpts.size(), 2u);  // checkpoint.keep = 2
  {                             // flip bytes in the middle of the newest
    std::fstream f(ckpts.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(ckpts.back()) / 2));
    f.write("\xde\xad\xbe\xef", 4);
  }
  const RunResult direct = kiln_test::run(run_args(dir, {"--resume", ckpts.back().string()}), {tmp.path()});
  EXPECT_EQ(direct.exit_code, 2) << direct.describe();
  EXPECT_NE(direct.err.find("corrupt"), std::string::npos) << direct.err;

  const RunResult r = kiln_test::run(run_args(dir, {"--resume", "auto"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;  // it says which one it skipped
  expect_matches_reference(kiln_test::last_json_line(r.out).value_or(json::object()), dir);
}

TEST_F(CliResume, ConfigThatChangesTheComputationIsRefused) {
  TempDir tmp("cli-resume-config");
  const fs::path dir = tmp / "run";
  ASSERT_EQ(stop_at(dir, 5, SIGTERM).exit_code, 143);
  const RunResult refused = kiln_test::run(run_args(dir, {"--resume", "auto", "--set", "optim.lr=0.5"}), {tmp.path()});
  EXPECT_EQ(refused.exit_code, 2) << refused.describe();
  EXPECT_NE(refused.err.find("optim.lr"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-config-change"), std::string::npos) << refused.err;
  // Logging and checkpointing keys do not change the computation.
  expect_matches_reference(
      finish(run_args(dir, {"--resume", "auto", "--set", "log.every=7", "--set", "checkpoint.keep=1"}), tmp.path()),
      dir);
}

// --resume auto on a run dir that is not there yet starts the run (and checkpoints step 0),
// so one command serves the first attempt and every restart after a kill.
TEST_F(CliResume, AutoOnARunDirNotThereYetStartsTheRunAndTheSameCommandContinuesIt) {
  TempDir tmp("cli-resume-auto-new");
  const fs::path dir = tmp / "run";
  {
    Child child(run_args(dir, {"--resume", "auto"}), {tmp.path()});
    ASSERT_TRUE(
        child.wait_for_output([&](const std::string&, const std::string&) { return last_logged_step(dir) >= 3; }, 120s))
        << child.err_so_far();
    child.signal(SIGKILL);
    const RunResult killed = child.wait(60s);
    EXPECT_NE(killed.err.find("nothing in " + dir.string() + " yet, so the run starts there"), std::string::npos)
        << killed.describe();
  }
  const RunResult r = kiln_test::run(run_args(dir, {"--resume", "auto"}), {tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("resuming " + dir.string() + " from step-"), std::string::npos) << r.err;
  expect_matches_reference(kiln_test::last_json_line(r.out).value_or(json::object()), dir);
}

TEST(CliResumeInput, AutoWithoutRunDirOrCheckpointsIsUsageError) {
  TempDir tmp("cli-resume-bad");
  RunResult r = kiln_test::run(kiln({"train", "--resume", "auto"}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--run-dir"), std::string::npos) << r.err;
  // A dir that holds something but no run is not started over.
  fs::create_directories(tmp / "other");
  kiln_test::write_file(tmp / "other" / "notes.txt", "mine\n");
  r = kiln_test::run(kiln({"train", "--resume", "auto", "--run-dir", (tmp / "other").string()}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("is not a kiln run dir"), std::string::npos) << r.err;
  r = kiln_test::run(kiln({"train", "--resume", (tmp / "run" / "checkpoints" / "step-1.pt").string()}), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(kiln_test::tree(tmp.path()), (std::vector<std::string>{"other", "other/notes.txt"}));  // nothing written
}

}  // namespace
