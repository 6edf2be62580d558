#include "report_page_check.h"

#include <regex>

#include "cli_helpers.h"

namespace kiln_test {

namespace {

// The flags both loads share: no sandbox (containers), no GPU, a private profile dir so
// parallel tests do not share one, and no network besides file://.
std::vector<std::string> base_args(const fs::path& profile_dir) {
  return {chromium_binary(),         "--no-sandbox",      "--headless",
          "--disable-gpu",           "--no-first-run",    "--user-data-dir=" + profile_dir.string(),
          "--window-size=1280,4000", "--hide-scrollbars", "--disable-extensions"};
}

std::string url(const fs::path& html) { return "file://" + fs::absolute(html).lexically_normal().string(); }

}  // namespace

std::string chromium_binary() {
  for (const char* p : {"/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell",
                        "/usr/bin/chromium", "/usr/lib/chromium/chromium"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

PageCheck load_page(const fs::path& html) {
  PageCheck c;
  TempDir profile("chromium");
  std::vector<std::string> argv = base_args(profile.path());
  for (const char* a : {"--enable-logging=stderr", "--v=0", "--dump-dom"}) argv.push_back(a);
  argv.push_back(url(html));
  const RunResult r = run(argv, {{}, std::chrono::seconds(90)});
  c.dom = r.out;
  c.loaded = r.exit_code == 0 && r.out.find("</html>") != std::string::npos;
  if (!c.loaded) c.errors.push_back("chromium did not load the page: " + r.describe());
  // Chromium logs every console message (and uncaught exceptions) as "...:CONSOLE(N)] ...";
  // the page itself never writes to the console, so any such line is a problem.
  for (const auto& line : split_lines(r.err)) {
    if (line.find(":CONSOLE") != std::string::npos) c.errors.push_back(line);
  }
  std::smatch m;
  if (std::regex_search(c.dom, m, std::regex("data-js-error=\"([^\"]*)\""))) c.errors.push_back(m[1].str());
  c.rendered = c.dom.find("data-rendered=\"ok\"") != std::string::npos;
  const std::regex svg("<svg[^>]*>");
  const std::regex id("data-plot=\"([^\"]*)\""), points("data-points=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(c.dom.begin(), c.dom.end(), svg); it != std::sregex_iterator(); ++it) {
    const std::string tag = it->str();
    std::smatch a, b;
    if (!std::regex_search(tag, a, id)) continue;
    c.plots[a[1].str()] = std::regex_search(tag, b, points) ? std::stol(b[1].str()) : -1;
  }
  return c;
}

std::vector<std::string> page_problems(const PageCheck& c, const std::vector<std::string>& need_data) {
  std::vector<std::string> out = c.errors;
  if (c.loaded && !c.rendered) out.push_back("the page's script did not finish (no data-rendered=\"ok\")");
  for (const auto& p : need_data) {
    const auto it = c.plots.find(p);
    if (it == c.plots.end()) {
      out.push_back("no plot '" + p + "' on the page");
    } else if (it->second <= 0) {
      out.push_back("plot '" + p + "' has no data (data-points=" + std::to_string(it->second) + ")");
    }
  }
  return out;
}

bool screenshot(const fs::path& html, const fs::path& png) {
  TempDir profile("chromium");
  std::vector<std::string> argv = base_args(profile.path());
  argv.push_back("--screenshot=" + fs::absolute(png).string());
  argv.push_back(url(html));
  const RunResult r = run(argv, {{}, std::chrono::seconds(90)});
  if (r.exit_code != 0 || !fs::exists(png)) return false;
  return read_file(png).rfind("\x89PNG", 0) == 0;
}

}  // namespace kiln_test
