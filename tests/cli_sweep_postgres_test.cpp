// Sweeps across machines: tools/optuna_server.py on a real PostgreSQL server (Debian's,
// started here on loopback in a temp dir) and four `kiln sweep --optuna-url` workers in
// separate processes, as four GPU boxes would run them, on one grid study of 20 trials; the
// Optuna server is killed (-9) and restarted mid-sweep. All 20 trials finish, each grid point
// once, nothing left RUNNING, and real Optuna reads the study from the database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "cli_helpers.h"
#include "dist/launch.h"
#include "sweep/remote_test_util.h"

namespace {

using kiln_test::kiln;
using kiln_test::RunResult;
using kiln_test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// PostgreSQL's binaries (the newest installed major version), or "" when there are none.
fs::path pg_bin() {
  fs::path best;
  if (!fs::exists("/usr/lib/postgresql")) return best;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql")) {
    if (fs::exists(e.path() / "bin" / "initdb") && (best.empty() || e.path() > best.parent_path())) {
      best = e.path() / "bin";
    }
  }
  return best;
}

// A throwaway PostgreSQL server on 127.0.0.1: initdb into a temp dir (trust auth, user kiln),
// then postgres in the foreground; stopped (SIGKILL) and removed with the object. As root it
// runs as the `postgres` account (PostgreSQL refuses root).
class Postgres {
 public:
  Postgres() : dir_("pg") {
    const fs::path bin = pg_bin();
    if (bin.empty()) {
      why_ = "PostgreSQL is not installed (Debian's postgresql; tools/bootstrap.sh installs it)";
      return;
    }
    const fs::path data = dir_ / "data";
    std::vector<std::string> as;  // how to run a PostgreSQL binary
    if (geteuid() == 0) {
      if (kiln_test::run({"chown", "-R", "postgres:postgres", dir_.path().string()}).exit_code != 0) {
        why_ = "cannot hand the data dir to the postgres account";
        return;
      }
      as = {"runuser", "-u", "postgres", "--"};
    }
    auto cmd = [&](std::vector<std::string> tail) {
      std::vector<std::string> a = as;
      a.insert(a.end(), tail.begin(), tail.end());
      return a;
    };
    const RunResult init = kiln_test::run(
        cmd({(bin / "initdb").string(), "-D", data.string(), "-A", "trust", "-U", "kiln", "--no-sync", "-E", "UTF8"}));
    if (init.exit_code != 0) {
      why_ = "initdb failed: " + init.describe();
      return;
    }
    port_ = kiln::dist::free_port();
    server_ = std::make_unique<kiln_test::Child>(
        cmd({(bin / "postgres").string(), "-D", data.string(), "-p", std::to_string(port_), "-k", dir_.path().string(),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"}));
    ready_ = server_->wait_for_output(
        [](const std::string&, const std::string& err) {
          return err.find("database system is ready to accept connections") != std::string::npos;
        },
        60s);
    if (!ready_) why_ = "postgres did not start: " + server_->err_so_far();
  }
  bool ready() const { return ready_; }
  const std::string& why() const { return why_; }
  std::string url() const { return "postgresql+psycopg2://kiln@127.0.0.1:" + std::to_string(port_) + "/postgres"; }

 private:
  TempDir dir_;
  std::unique_ptr<kiln_test::Child> server_;
  int port_ = 0;
  bool ready_ = false;
  std::string why_;
};

bool have_psycopg2() {
  return kiln_test::run({kiln::sweep::remote_test::kPython, "-c", "import psycopg2"}).exit_code == 0;
}

// A 5 x 4 grid (lr x batch size), one quick epoch a trial.
const char* kSpec = R"(name = "pg"
[objective]
metric = "test_accuracy"
[sampler]
name = "grid"
[pruner]
name = "none"
[budget]
n_trials = 20
[base.data]
limit_train = 512
limit_test = 256
[base.train]
epochs = 1
threads = 1
[base.log]
progress = "off"
[space."optim.lr"]
type = "categorical"
choices = [0.0005, 0.001, 0.002, 0.004, 0.008]
[space."loader.batch_size"]
type = "categorical"
choices = [32, 64, 128, 256]
)";

TEST(CliSweepPostgres, FourWorkersShareOneStudyThroughAServerRestart) {
  KILN_REQUIRE_OPTUNA();
  if (!have_psycopg2()) GTEST_SKIP() << "the venv has no psycopg2 (tools/bootstrap.sh installs psycopg2-binary)";
  Postgres pg;
  if (!pg.ready()) GTEST_SKIP() << pg.why();
  TempDir tmp("sweep-pg");
  kiln_test::write_file(tmp / "s.toml", kSpec);
  const std::vector<std::string> flags = {"--sampler", "grid", "--pruner", "none", "--seed", "3"};
  auto server = std::make_unique<kiln::sweep::remote_test::OptunaServer>(pg.url(), flags);
  const int port = server->port();
  std::vector<std::unique_ptr<kiln_test::Child>> workers;
  for (int w = 0; w < 4; ++w) {
    workers.push_back(std::make_unique<kiln_test::Child>(
        kiln({"sweep", "s.toml", "--dir", "w" + std::to_string(w), "--optuna-url", server->url(), "--json"}),
        kiln_test::RunOptions{tmp.path()}));
  }
  // Once some trials have finished (their run dirs hold a summary), kill the server and
  // bring it back on the same port a second later, on the same database.
  auto finished = [&] {
    size_t n = 0;
    for (int w = 0; w < 4; ++w) {
      const fs::path trials = tmp / ("w" + std::to_string(w)) / "trials";
      if (!fs::exists(trials)) continue;
      for (const auto& t : fs::directory_iterator(trials)) n += fs::exists(t.path() / "run" / "summary.json");
    }
    return n;
  };
  ASSERT_TRUE(
      workers[0]->wait_for_output([&](const std::string&, const std::string&) { return finished() >= 4; }, 180s))
      << workers[0]->err_so_far();
  server->kill();
  std::this_thread::sleep_for(1s);
  server = std::make_unique<kiln::sweep::remote_test::OptunaServer>(pg.url(), flags, port);
  int most = 0;
  for (int w = 0; w < 4; ++w) {
    const RunResult r = workers[size_t(w)]->wait(300s);
    ASSERT_EQ(r.exit_code, 0) << "worker " << w << ": " << r.describe() << server->log();
    const auto j = kiln_test::last_json_line(r.out);
    ASSERT_TRUE(j) << r.out;
    // A worker's summary is the study as it stood when that worker ended: the others may
    // still have been finishing their last trials then.
    EXPECT_LE((*j)["complete"].get<int>(), 20);
    most = std::max(most, (*j)["complete"].get<int>());
  }
  EXPECT_EQ(most, 20) << "the last worker to end saw every trial complete";
  // Real Optuna, straight from PostgreSQL: 20 trials, all COMPLETE, every grid point once.
  const json study = kiln::sweep::remote_test::dump_study(pg.url(), "pg");
  ASSERT_EQ(study["trials"].size(), 20u) << study.dump().substr(0, 2000);
  std::set<std::string> points;
  for (const auto& t : study["trials"]) {
    EXPECT_EQ(t["state"], "COMPLETE") << t.dump();
    EXPECT_TRUE(t["value"].is_number()) << t.dump();
    points.insert(t["external"].dump());
  }
  EXPECT_EQ(points.size(), 20u) << "a grid point ran twice";
  // Every worker ran some of them (the four shared the work).
  for (int w = 0; w < 4; ++w) EXPECT_TRUE(fs::exists(tmp / ("w" + std::to_string(w)) / "trials")) << w;
}

}  // namespace
