// Remote mode without a server: the pending file's bookkeeping, URL checks, and giving up on
// an address where nothing listens. No Python needed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "cli_helpers.h"
#include "sweep/remote.h"
#include "sweep/remote_http.h"
#include "sweep/remote_pending.h"
#include "util/error.h"

namespace kiln::sweep {
namespace {

using kiln_test::TempDir;
using nlohmann::json;

// A loopback port that nothing listens on: bound, read back, closed.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("free_port: cannot bind a loopback socket");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(SweepRemotePending, AddRemoveAndRejectKeepEveryRecordUntilDone) {
  TempDir dir("remote");
  const auto path = dir / "pending.jsonl";
  PendingLog log(path);
  const json a = log.add({{"op", "report"}, {"trial_id", 1}, {"step", 0}, {"value", 0.5}});
  const json b = log.add({{"op", "tell"}, {"trial_id", 1}, {"state", "Complete"}});
  const json c = log.add({{"op", "tell"}, {"trial_id", 2}, {"state", "Fail"}});
  EXPECT_NE(a["id"], b["id"]);
  EXPECT_EQ(kiln_test::split_lines(kiln_test::read_file(path)).size(), 3u) << "one line per record";

  // A second log on the same file (the next run) sees them in order.
  PendingLog reread(path);
  auto recs = reread.load();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], a);
  EXPECT_EQ(recs[2], c);

  log.remove(b["id"].get<std::string>());
  recs = log.load();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1], c);

  log.reject(c, "HTTP 404 no trial with id 2");
  EXPECT_EQ(log.load().size(), 1u);
  const auto rejected = kiln_test::split_lines(kiln_test::read_file(path.string() + ".rejected"));
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(json::parse(rejected[0])["rejected_because"], "HTTP 404 no trial with id 2");

  log.remove(a["id"].get<std::string>());
  EXPECT_FALSE(std::filesystem::exists(path)) << "an empty pending file is removed";
  EXPECT_TRUE(log.load().empty());
}

TEST(SweepRemotePending, ATornLastLineIsSkippedButGarbageElsewhereIsAnError) {
  TempDir dir("remote");
  const auto path = dir / "pending.jsonl";
  PendingLog log(path);
  const json a = log.add({{"op", "tell"}, {"trial_id", 7}, {"state", "Pruned"}});
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"op": "tell", "trial_id": 8, "sta)";  // a crash mid-append
  }
  auto recs = log.load();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], a);

  kiln_test::write_file(path, "not json\n" + a.dump() + "\n");
  EXPECT_THROW(log.load(), kiln::Error);
}

TEST(SweepRemote, UrlWithoutSchemeIsAUsageError) {
  RemoteOptions o;
  o.url = "localhost:8765";
  o.study_name = "s";
  try {
    make_remote_backend(o);
    FAIL() << "accepted " << o.url;
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("localhost:8765"), std::string::npos) << e.what();
  }
}

TEST(SweepRemote, NothingListeningGivesUpWithTheUrlAndTheLastError) {
  TempDir dir("remote");
  RemoteOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(free_port());
  o.study_name = "s";
  o.pending_file = dir / "pending.jsonl";
  o.request_timeout_s = 0.5;
  o.give_up_after_s = 0.5;
  try {
    make_remote_backend(o);
    FAIL() << "connected to " << o.url;
  } catch (const kiln::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), ExitCode::kRuntime);
    EXPECT_NE(what.find(o.url), std::string::npos) << what;
    EXPECT_NE(what.find("0.5 s"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
    EXPECT_NE(e.hint().find(o.pending_file.string()), std::string::npos) << e.hint();
  }
}

TEST(SweepRemote, NonFiniteNumbersTravelAsDashboardStrings) {
  EXPECT_EQ(json_number(1.5), json(1.5));
  EXPECT_EQ(json_number(std::nan("")), json("nan"));
  EXPECT_EQ(json_number(-INFINITY), json("-inf"));
  EXPECT_TRUE(std::isnan(number_from_json(json("nan"))));
  EXPECT_EQ(number_from_json(json("inf")), INFINITY);
  EXPECT_EQ(number_from_json(json("-Infinity")), -INFINITY);
  EXPECT_EQ(number_from_json(json(3)), 3.0);
  EXPECT_THROW(number_from_json(json("fast")), kiln::Error);
}

}  // namespace
}  // namespace kiln::sweep
