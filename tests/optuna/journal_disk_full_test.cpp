// The study file on a full disk: an append that fails is an error that says so, and it is
// cut back off, so once space is freed the next writer appends (it used to find a half
// record at the end and refuse to touch the file).
#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "optuna/journal.h"
#include "tmpfs_mount.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::optuna {
namespace {

TEST(SweepJournalDiskFull, FailedAppendLeavesWholeRecordsAndTheNextRunAppends) {
  kiln_test::TmpfsMount mnt(64 * 1024);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  util::atomic_write(mnt / "filler", std::string(60 * 1024, 'f'));  // one 4 KiB page left
  const auto path = mnt / "study.journal";
  int trial = -1, step = 0;
  std::string error;
  {
    Journal j(path);
    const int study = j.open_or_create("full", Direction::kMinimize, "val_loss", nlohmann::json::object()).id;
    trial = journal_test::write_plan(j, study, {journal_test::planned_trials()[3]})[0].trial_id;
    for (step = 1; step <= 1000 && error.empty(); ++step) {  // ~30 reports fill the page
      try {
        j.report(trial, step, 1.0 / step);
      } catch (const Error& e) {
        error = e.what();
      }
    }
  }
  ASSERT_FALSE(error.empty()) << "1000 reports on a 4 KiB disk and no error";
  EXPECT_NE(error.find("cannot append to " + path.string() + ": No space left on device"), std::string::npos) << error;
  const std::string text = journal_test::read_text(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the study file ends in half a record";

  ASSERT_TRUE(mnt.resize(256 * 1024));
  Journal again(path);
  const int failed_step = step - 1;
  EXPECT_NO_THROW(again.report(trial, failed_step, 0.5));
  const auto t = again.load("full")->trials.at(0);
  EXPECT_EQ(t.intermediate.count(failed_step), 1u);
  EXPECT_EQ(t.intermediate.count(failed_step - 1), 1u);  // the last one that fitted
}

}  // namespace
}  // namespace kiln::optuna
