// The metrics.jsonl sink on a full disk: a record that cannot be written stops the run with
// the reason (it used to be dropped without a word), and the file keeps only whole lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_helpers.h"
#include "metrics/sink.h"
#include "tmpfs_mount.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::metrics {
namespace {

TEST(MetricsJsonl, FullDiskStopsWithTheReasonAndKeepsWholeLines) {
  kiln_test::TmpfsMount mnt(64 * 1024);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  util::atomic_write(mnt / "filler", std::string(60 * 1024, 'f'));  // one 4 KiB page left
  const auto path = mnt / "metrics.jsonl";
  auto sink = make_jsonl_sink(path);
  std::string error;
  int64_t step = 1;
  for (; step <= 1000 && error.empty(); ++step) {  // ~40 records fill the page
    try {
      sink->on_step({step, 0, 2.302585092994046, 1e-3, -1.0, 0.25, -1.0, 64, 0.5 * double(step)});
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kRuntime);
      error = e.what();
    }
  }
  ASSERT_FALSE(error.empty()) << "1000 records on a 4 KiB disk and no error: lines were dropped silently";
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  sink->close();
  const std::string text = kiln_test::read_file(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the file ends in a cut-off record";
  const auto lines = kiln_test::split_lines(text);
  EXPECT_EQ(int64_t(lines.size()), step - 2) << "every record before the failing one is there";
  for (const auto& l : lines) EXPECT_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded()) << l;
}

}  // namespace
}  // namespace kiln::metrics
