// End-to-end tests of a full disk. Training: the run dir on a tmpfs sized so that the third
// checkpoint does not fit. kiln must stop with exit 1 and a message that says why and where
// (it used to abort with SIGABRT and a core dump), leave no partial file, keep the earlier
// checkpoints, and once space is freed `--resume auto` must end with the weights of a run
// that never stopped. Profiling: --out on a tmpfs too small for trace.json, and for
// torch_trace.json (which LibTorch wrote short, and kiln reported success).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "cli_helpers.h"
#include "tmpfs_mount.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using kiln_test::tmpfs_pages;
using kiln_test::TmpfsMount;
using nlohmann::json;
namespace fs = std::filesystem;

// 30 steps, a checkpoint every 10, all three kept (so nothing is freed before the third).
std::vector<std::string> run_args(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.limit_train=1024",
                                "--set",
                                "data.limit_test=256",
                                "--set",
                                "train.max_steps=30",
                                "--set",
                                "checkpoint.every=10",
                                "--set",
                                "checkpoint.keep=3",
                                "--set",
                                "log.progress=off",
                                "--seed",
                                "3",
                                "--json",
                                "--run-dir",
                                dir.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

std::vector<std::string> step_lines(const fs::path& metrics) {
  std::vector<std::string> out;
  for (const auto& line : kiln_test::split_lines(kiln_test::read_file(metrics))) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "step")
      out.push_back(std::to_string(j["step"].get<int>()) + " " + j["loss"].dump());
  }
  return out;
}

TEST(CliDiskFull, ThirdCheckpointDoesNotFitThenResumeFinishesTheRun) {
  TempDir ref_tmp("cli-disk-ref");
  const fs::path ref = ref_tmp / "run";
  const RunResult whole = kiln_test::run(run_args(ref), {ref_tmp.path()});
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  const json reference = kiln_test::last_json_line(whole.out).value_or(json::object());
  ASSERT_TRUE(reference.contains("weights_sha256")) << whole.describe();

  // Everything the run holds when it starts the third checkpoint, plus half a checkpoint.
  const uint64_t ckpt = fs::file_size(ref / "checkpoints" / "step-00000010.pt");
  uint64_t before_third = 0;
  for (const char* f :
       {"config.toml", "manifest.json", "metrics.jsonl", "checkpoints/step-00000010.pt",
        "checkpoints/step-00000010.pt.sha256", "checkpoints/step-00000020.pt", "checkpoints/step-00000020.pt.sha256"}) {
    before_third += tmpfs_pages(fs::file_size(ref / f));
  }
  const uint64_t size = tmpfs_pages(before_third + ckpt / 2);
  TmpfsMount mnt(size);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  const fs::path dir = mnt / "run";

  const RunResult full = kiln_test::run(run_args(dir), {mnt.path()});
  ASSERT_EQ(full.term_signal, 0) << "checkpoint " << ckpt << " bytes, tmpfs " << size << " bytes\n" << full.describe();
  EXPECT_EQ(full.exit_code, 1) << full.describe();
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find((dir / "checkpoints" / "step-00000030.pt").string() + ":"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("needs"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("--resume auto"), std::string::npos) << full.err;

  // No temp file, no partial step-30 under its name; the first two checkpoints still verify.
  for (const auto& p : kiln_test::tree(dir)) EXPECT_EQ(p.find(".tmp"), std::string::npos) << p;
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "step-00000030.pt"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "step-00000030.pt.sha256"));
  EXPECT_NO_THROW(kiln::checkpoint::verify(dir / "checkpoints" / "step-00000010.pt"));
  EXPECT_NO_THROW(kiln::checkpoint::verify(dir / "checkpoints" / "step-00000020.pt"));

  // Space freed: the resumed run ends as the uninterrupted one, with the same loss curve.
  ASSERT_TRUE(mnt.resize(4 * size));
  const RunResult resumed = kiln_test::run(run_args(dir, {"--resume", "auto"}), {mnt.path()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  const json summary = kiln_test::last_json_line(resumed.out).value_or(json::object());
  EXPECT_EQ(summary.value("weights_sha256", ""), reference["weights_sha256"]);
  EXPECT_EQ(summary.value("steps", 0), 30);
  EXPECT_EQ(step_lines(dir / "metrics.jsonl"), step_lines(ref / "metrics.jsonl"));
}

// kiln profile's outputs, on a tmpfs one page too small for the last one written.
class CliDiskFullProfile : public testing::Test {
 protected:
  static std::vector<std::string> args(const fs::path& out, bool torch_trace) {
    std::vector<std::string> a = {"profile",
                                  "--set",
                                  "data.limit_train=512",
                                  "--set",
                                  "data.limit_test=256",
                                  "--set",
                                  "loader.batch_size=64",
                                  "--set",
                                  "log.progress=off",
                                  "--warmup",
                                  "1",
                                  "--steps",
                                  "3",
                                  "--out",
                                  out.string()};
    if (torch_trace) a.push_back("--torch-trace");
    return kiln(a);
  }
  // Profiles into a normal dir, then onto a tmpfs with room for `fits` and not for `cut`.
  static void expect_clean_failure(bool torch_trace, std::vector<std::string> fits, const std::string& cut,
                                   const std::string& says) {
    TempDir ref("cli-disk-profile");
    const RunResult ok = kiln_test::run(args(ref / "out", torch_trace), {ref.path()});
    ASSERT_EQ(ok.exit_code, 0) << ok.describe();
    // One page short of what `cut` needs (trace.json may fit in a single page).
    uint64_t size = tmpfs_pages(fs::file_size(ref / "out" / cut)) - tmpfs_pages(1);
    for (const auto& f : fits) size += tmpfs_pages(fs::file_size(ref / "out" / f));
    ASSERT_GT(size, 0u) << "size=0 would be a tmpfs without a limit";
    TmpfsMount mnt(size);
    if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
    const RunResult full = kiln_test::run(args(mnt / "out", torch_trace), {mnt.path()});
    EXPECT_EQ(full.exit_code, 1) << full.describe();
    EXPECT_NE(full.err.find("cannot write " + (mnt / "out" / cut).string() + ": " + says), std::string::npos)
        << full.err;
    EXPECT_FALSE(fs::exists(mnt / "out" / cut));
    for (const auto& p : kiln_test::tree(mnt / "out")) EXPECT_EQ(p.find(".tmp"), std::string::npos) << p;
  }
};

TEST_F(CliDiskFullProfile, TraceJsonDoesNotFit) {
  expect_clean_failure(false, {"profile.json"}, "trace.json", "No space left on device");
}

TEST_F(CliDiskFullProfile, TorchTraceDoesNotFit) {
  expect_clean_failure(true, {}, "torch_trace.json", "LibTorch's profiler left an incomplete trace");
}

}  // namespace
