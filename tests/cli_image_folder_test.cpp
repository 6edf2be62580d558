// End-to-end tests of `kiln train` on an image folder (data.dataset = "image-folder"): it
// learns the generated classes, its weights are the same for 1 and 2 loader/compute threads
// and across a SIGKILL + --resume auto, and a bad image stops it before anything is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "image_files.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 3 classes of 40 training and 8 validation images, 24x20, PNG and JPEG mixed.
void make_folder(const fs::path& dir) {
  kiln_test::write_image_folder(dir, {"train", "val"}, {"ash", "birch", "cedar"}, 8, 24, 20, "jpg");
  kiln_test::write_image_folder(dir / "more", {"train"}, {"ash", "birch", "cedar"}, 32, 24, 20, "png");
  for (const char* c : {"ash", "birch", "cedar"}) fs::rename(dir / "more" / "train" / c, dir / "train" / c / "more");
  fs::remove_all(dir / "more");
}

std::vector<std::string> args(const fs::path& data, const fs::path& run, int threads,
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train",
                                "--set",
                                "data.dataset=image-folder",
                                "--set",
                                "data.dir=" + data.string(),
                                "--set",
                                "data.image_size=16",
                                "--set",
                                "loader.batch_size=8",
                                "--set",
                                "train.epochs=2",
                                "--set",
                                "optim.lr=3e-3",
                                "--set",
                                "augment.hflip=true",
                                "--set",
                                "model.dropout=0.2",
                                "--set",
                                "checkpoint.every=1",
                                "--set",
                                "log.progress=off",
                                "--set",
                                "loader.threads=" + std::to_string(threads),
                                "--set",
                                "train.threads=" + std::to_string(threads),
                                "--seed",
                                "3",
                                "--json",
                                "--run-dir",
                                run.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return kiln(a);
}

json train(const std::vector<std::string>& argv, const fs::path& cwd) {
  const RunResult r = kiln_test::run(argv, {cwd});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return kiln_test::last_json_line(r.out).value_or(json::object());
}

TEST(CliImageFolder, LearnsAndIsTheSameForOneAndTwoThreads) {
  TempDir tmp("imgfolder");
  make_folder(tmp / "data");
  const json one = train(args(tmp / "data", tmp / "r1", 1), tmp.path());
  const json two = train(args(tmp / "data", tmp / "r2", 2), tmp.path());
  ASSERT_TRUE(one.contains("weights_sha256")) << one.dump();
  EXPECT_EQ(one["weights_sha256"], two["weights_sha256"]);
  EXPECT_EQ(one.value("steps", 0), 30);  // 120 images / 8 a batch, 2 epochs
  EXPECT_GT(one.value("test_accuracy", 0.0), 0.6) << "three classes of distinct colours: chance is 1/3";
  const json manifest = json::parse(kiln_test::read_file(tmp / "r1" / "manifest.json"));
  EXPECT_EQ(manifest["dataset"]["classes"], json::array({"ash", "birch", "cedar"}));
  EXPECT_NE(manifest["dataset"].value("train_fingerprint", "").find("image-folder:"), std::string::npos);
}

TEST(CliImageFolder, SigkillThenResumeGivesTheSameWeights) {
  TempDir tmp("imgfolder");
  make_folder(tmp / "data");
  const json whole = train(args(tmp / "data", tmp / "whole", 2), tmp.path());
  const fs::path run = tmp / "killed";
  {
    kiln_test::Child child(args(tmp / "data", run, 2), {tmp.path()});
    const bool reached = child.wait_for_output(
        [&](const std::string&, const std::string&) { return kiln_test::metrics_records(run, "step").size() >= 17; },
        120s);
    ASSERT_TRUE(reached) << child.err_so_far();
    child.signal(SIGKILL);
    EXPECT_EQ(child.wait(60s).term_signal, SIGKILL);
  }
  const json resumed = train(args(tmp / "data", run, 2, {"--resume", "auto"}), tmp.path());
  EXPECT_EQ(resumed.value("weights_sha256", "resumed"), whole.value("weights_sha256", "whole"));
}

TEST(CliImageFolder, ABadImageStopsTheRunNamingItAndWritesNothing) {
  TempDir tmp("imgfolder");
  make_folder(tmp / "data");
  kiln_test::write_bytes(tmp / "data" / "train" / "birch" / "broken.jpg", {0xff, 0xd8, 0xff, 0x00});
  const RunResult r = kiln_test::run(args(tmp / "data", tmp / "run", 2), {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("birch/broken.jpg"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "run"));
  const RunResult skipped =
      kiln_test::run(args(tmp / "data", tmp / "run2", 2, {"--set", "data.on_bad_image=skip"}), {tmp.path()});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.describe();
  EXPECT_NE(skipped.err.find("birch/broken.jpg"), std::string::npos) << "the skipped file is reported";
  // ... and listed, all of them, in the run dir (path: reason), which the manifest points to.
  const std::string list = kiln_test::read_file(tmp / "run2" / "skipped.txt");
  EXPECT_EQ(list.rfind("birch/broken.jpg: ", 0), 0u) << "a line a file: its path, then why: " << list;
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), 1) << list;
  const json manifest = json::parse(kiln_test::read_file(tmp / "run2" / "manifest.json"));
  EXPECT_EQ(manifest["dataset"].value("skipped", ""), "skipped.txt");
  EXPECT_FALSE(fs::exists(tmp / "run" / "skipped.txt"));
}

// The checkpoints hold the class names; resuming after the folder's classes changed (here a
// class renamed, which reorders the labels) is refused before the run dir changes.
TEST(CliImageFolder, CheckpointsHoldTheClassesAndAResumeOnOtherClassesIsRefused) {
  TempDir tmp("imgfolder");
  make_folder(tmp / "data");
  const json done = train(args(tmp / "data", tmp / "run", 2, {"--set", "train.epochs=1"}), tmp.path());
  ASSERT_TRUE(done.contains("weights_sha256")) << done.dump();
  // final.pt is a LibTorch archive: its "classes" record is a list of the names, in label order.
  const std::string archive = kiln_test::read_file(tmp / "run" / "checkpoints" / "final.pt");
  EXPECT_NE(archive.find("classes"), std::string::npos);
  for (const char* c : {"ash", "birch", "cedar"}) EXPECT_NE(archive.find(c), std::string::npos) << c;
  for (const char* split : {"train", "val"}) fs::rename(tmp / "data" / split / "ash", tmp / "data" / split / "elm");
  const std::string metrics_before = kiln_test::read_file(tmp / "run" / "metrics.jsonl");
  const RunResult r = kiln_test::run(
      args(tmp / "data", tmp / "run", 2, {"--set", "train.epochs=2", "--allow-config-change", "--resume", "auto"}),
      {tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("[ash, birch, cedar]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[birch, cedar, elm]"), std::string::npos) << r.err;
  EXPECT_EQ(kiln_test::read_file(tmp / "run" / "metrics.jsonl"), metrics_before);
}

}  // namespace
