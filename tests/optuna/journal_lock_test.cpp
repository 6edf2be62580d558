// Tests of the journal file lock (Optuna's symlink lock) and of concurrent kiln writers.
#include "optuna/journal_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "optuna/journal.h"

namespace kiln::optuna {
namespace {

using nlohmann::json;
using test_support::TempDir;

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SweepJournalLock, StaleLockIsBroken) {
  TempDir dir;
  const auto path = dir / "study.journal";
  journal_test::write_text(path, "");
  // A crashed holder's lock: the symlink Optuna makes, on a journal untouched for an hour.
  ASSERT_EQ(::symlink(path.c_str(), (path.string() + ".lock").c_str()), 0);
  const struct timespec old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  JournalLock lock(path, std::chrono::milliseconds(200));
  lock.acquire();  // breaks it once its mtime has stood still for the grace period
  EXPECT_TRUE(lock.held());
  EXPECT_TRUE(std::filesystem::is_symlink(lock.lock_path()));
  EXPECT_TRUE(lock.release());
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"study.journal"});  // no .lock, no .rename left
  // The Journal goes through the same lock.
  ASSERT_EQ(::symlink(path.c_str(), (path.string() + ".lock").c_str()), 0);
  Journal j(path, std::chrono::milliseconds(200));
  EXPECT_EQ(j.open_or_create("s", Direction::kMinimize, "loss", json::object()).id, 0);
}

TEST(SweepJournalLock, HeldLockBlocksUntilReleased) {
  TempDir dir;
  const auto path = dir / "study.journal";
  JournalLock holder(path);
  holder.acquire();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Journal j(path);
    j.open_or_create("s", Direction::kMinimize, "loss", json::object());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Not a timing assertion: whatever the speed, nothing may be written while the lock is held.
  EXPECT_FALSE(done.load());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(holder.release());
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(Journal(path).load("s"));
  EXPECT_FALSE(holder.release());  // not held any more
}

TEST(SweepJournal, TwoKilnInstancesInTwoThreadsLoseNothing) {
  TempDir dir;
  const auto path = dir / "study.journal";
  const int study = Journal(path).open_or_create("s", Direction::kMinimize, "loss", json::object()).id;
  const Space space = {{"x", distribution_from_json(std::string(R"({"type": "float", "low": 0, "high": 1})"))},
                       {"k", distribution_from_json(std::string(R"({"type": "int", "low": 1, "high": 8})"))}};
  constexpr int kPerThread = 25;
  std::vector<Asked> asked[2];
  std::atomic<int> ready{0};
  auto run = [&](int worker) {
    try {
      Journal j(path);
      j.load("s");                                                 // both replay the same state first
      for (++ready; ready.load() < 2;) std::this_thread::yield();  // then start together
      for (int i = 0; i < kPerThread; ++i) {
        const Asked a = j.create_trial(study, space, [&](const Study&, int number) {
          return std::map<std::string, double>{{"x", (number + 0.5) / 100.0 + worker * 0.5}, {"k", 1 + number % 8}};
        });
        j.report(a.trial_id, 0, a.params.at("x") * 2);
        j.finish(a.trial_id, TrialState::kComplete, a.params.at("x") + a.params.at("k"));
        asked[worker].push_back(a);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "worker " << worker << ": " << e.what();
    }
  };

  std::thread t0(run, 0), t1(run, 1);
  t0.join();
  t1.join();
  const Study s = *Journal(path).load("s");
  ASSERT_EQ(s.trials.size(), 2u * kPerThread);
  std::set<int> ids, numbers;
  for (const auto& list : asked) {
    for (const Asked& a : list) {
      ids.insert(a.trial_id);
      numbers.insert(a.number);
      const Trial& t = s.trials.at(static_cast<size_t>(a.number));
      EXPECT_EQ(t.id, a.trial_id);
      EXPECT_EQ(t.params, a.params);
      EXPECT_EQ(t.state, TrialState::kComplete);
      EXPECT_EQ(t.value, a.params.at("x") + a.params.at("k"));
      EXPECT_EQ(t.intermediate, (std::map<int, double>{{0, a.params.at("x") * 2}}));
    }
  }
  EXPECT_EQ(ids.size(), 2u * kPerThread);
  EXPECT_EQ(numbers.size(), 2u * kPerThread);
  EXPECT_EQ(*numbers.rbegin(), 2 * kPerThread - 1);
}

}  // namespace
}  // namespace kiln::optuna
