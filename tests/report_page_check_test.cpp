// The page check itself (tests/report_page_check.h) catches what it should: a page whose
// script throws, one whose plot drew nothing, a plot that is not there; and a good page
// passes. Also that a config string holding "</script>" stays text on the page.
#include <gtest/gtest.h>

#include <string>

#include "cli_helpers.h"
#include "report/page.h"
#include "report/run_data.h"
#include "report_page_check.h"

namespace {

using kiln_test::TempDir;
using kiln_test::write_file;
namespace fs = std::filesystem;

#define KILN_REQUIRE_CHROMIUM()             \
  if (kiln_test::chromium_binary().empty()) \
  GTEST_SKIP() << "headless Chromium is not installed (chromium-headless-shell)"

// A run dir written by hand: three steps and one evaluation, and `config` as config.toml.
fs::path tiny_run(const TempDir& tmp, const std::string& config) {
  const fs::path dir = tmp / "run";
  fs::create_directories(dir);
  write_file(dir / "config.toml", config);
  std::string m;
  for (int s = 1; s <= 3; ++s) {
    m += "{\"type\":\"step\",\"step\":" + std::to_string(s) + ",\"epoch\":0,\"loss\":" + std::to_string(2.0 / s) +
         ",\"lr\":0.001,\"samples\":64,\"data_wait_ms\":0.5,\"time_s\":" + std::to_string(0.1 * s) + "}\n";
  }
  m += "{\"type\":\"eval\",\"step\":3,\"epoch\":0,\"time_s\":0.4,\"test_loss\":0.9,\"test_accuracy\":0.7}\n";
  write_file(dir / "metrics.jsonl", m);
  return dir;
}

fs::path page_of(const TempDir& tmp, const fs::path& run, const std::string& edit_from = "",
                 const std::string& edit_to = "") {
  std::string page = kiln::report::render_page(kiln::report::run_data({run}));
  if (!edit_from.empty()) {
    const auto at = page.find(edit_from);
    EXPECT_NE(at, std::string::npos) << edit_from;
    if (at != std::string::npos) page.replace(at, edit_from.size(), edit_to);
  }
  const fs::path html = tmp / "page.html";
  write_file(html, page);
  return html;
}

const std::vector<std::string> kRunPlots = {"loss",           "lr",         "eval-test_accuracy",
                                            "eval-test_loss", "throughput", "data-wait"};

TEST(ReportPageCheck, AGoodPagePasses) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-check");
  const auto c = kiln_test::load_page(page_of(tmp, tiny_run(tmp, "[train]\nname = \"t\"\n")));
  const auto p = kiln_test::page_problems(c, kRunPlots);
  EXPECT_TRUE(p.empty()) << ::testing::PrintToString(p);
  EXPECT_EQ(c.plots.at("loss"), 3);
  EXPECT_EQ(c.plots.at("throughput"), 3) << "each record has its own time_s here: a rate per record";
}

TEST(ReportPageCheck, FlagsAScriptError) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-check");
  // A call to a function that does not exist, planted in the middle of the page's script.
  const auto c = kiln_test::load_page(page_of(tmp, tiny_run(tmp, ""), "profileSection(S.profile, D.profile);",
                                              "noSuchFunction(); profileSection(S.profile, D.profile);"));
  const auto p = kiln_test::page_problems(c, {});
  ASSERT_FALSE(p.empty());
  const std::string all = ::testing::PrintToString(p);
  EXPECT_NE(all.find("noSuchFunction"), std::string::npos) << all;
  EXPECT_NE(all.find("did not finish"), std::string::npos) << all;
}

TEST(ReportPageCheck, FlagsASyntaxErrorThroughTheErrorHook) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-check");
  const auto c = kiln_test::load_page(page_of(tmp, tiny_run(tmp, ""), "'use strict';", "'use strict'; a b c;"));
  EXPECT_NE(c.dom.find("data-js-error="), std::string::npos) << "window.onerror marked the page";
  EXPECT_FALSE(kiln_test::page_problems(c, {}).empty());
}

TEST(ReportPageCheck, FlagsAPlotWithoutDataAndAMissingPlot) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-check");
  const fs::path run = tiny_run(tmp, "");
  // The same run without its evaluation: the page says "no data" for the evaluation plot.
  std::string m = kiln_test::read_file(run / "metrics.jsonl");
  m = m.substr(0, m.find("{\"type\":\"eval\""));
  write_file(run / "metrics.jsonl", m);
  const auto c = kiln_test::load_page(page_of(tmp, run));
  EXPECT_TRUE(kiln_test::page_problems(c, {"loss"}).empty()) << ::testing::PrintToString(c.errors);
  ASSERT_EQ(c.plots.count("eval"), 1u);
  EXPECT_EQ(c.plots.at("eval"), 0);
  EXPECT_NE(c.dom.find("no evaluation records"), std::string::npos);
  const auto p = kiln_test::page_problems(c, {"eval", "eval-test_accuracy"});
  ASSERT_EQ(p.size(), 2u) << ::testing::PrintToString(p);
  EXPECT_NE(p[0].find("'eval' has no data"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("no plot 'eval-test_accuracy'"), std::string::npos) << p[1];
}

// A config string that closes the script element and opens another must stay text: it is
// shown in the config section as written, and no script of it runs.
TEST(ReportPageCheck, AConfigStringCannotBreakOutOfTheDataBlock) {
  KILN_REQUIRE_CHROMIUM();
  TempDir tmp("report-check");
  const std::string evil = "</script><script>document.title='pwned';window.onerror=null;</script><!--";
  const fs::path html = page_of(tmp, tiny_run(tmp, "[train]\nname = \"" + evil + "\"\n"));
  const auto c = kiln_test::load_page(html);
  const auto p = kiln_test::page_problems(c, kRunPlots);
  EXPECT_TRUE(p.empty()) << ::testing::PrintToString(p);
  EXPECT_EQ(c.dom.find("<title>pwned</title>"), std::string::npos);
  EXPECT_NE(c.dom.find("&lt;/script&gt;&lt;script&gt;document.title='pwned'"), std::string::npos)
      << "the string is on the page as text";
}

}  // namespace
