// The cross-process lock that guards appends to an Optuna journal file: Optuna's
// JournalFileSymlinkLock, re-implemented so kiln and Python workers exclude each other.
// The lock is the symlink `<journal>.lock` -> journal; whoever creates it holds the lock.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>

namespace kiln::optuna {

class JournalLock {
 public:
  // Optuna >= 4.3's grace_period: a lock whose mtime has not changed for this long while we
  // wait is taken to belong to a crashed holder and is broken.
  static constexpr std::chrono::milliseconds kDefaultGrace{30000};

  explicit JournalLock(const std::filesystem::path& journal_path, std::chrono::milliseconds grace = kDefaultGrace);
  JournalLock(const JournalLock&) = delete;
  JournalLock& operator=(const JournalLock&) = delete;
  ~JournalLock();  // releases a lock still held

  // Blocks until this process holds the lock: symlink(), and on EEXIST sleep 1 ms, doubling
  // to 1 s, then retry. Throws kiln::Error (runtime) when the lock cannot be created at all
  // (a missing directory, no permission).
  void acquire();
  // Renames the lock to `<lock><uuid>.rename` and unlinks that (the two steps Optuna uses,
  // so a waiter breaking a stale lock and the holder cannot both succeed). Returns false
  // when the lock was no longer ours (a waiter broke it).
  bool release();

  bool held() const { return held_; }
  const std::filesystem::path& lock_path() const { return lock_path_; }

 private:
  std::filesystem::path target_;     // the journal, absolute (what the symlink points at)
  std::filesystem::path lock_path_;  // "<journal>.lock"
  std::chrono::milliseconds grace_;
  bool held_ = false;
};

// Holds the lock for one scope.
class JournalLockGuard {
 public:
  explicit JournalLockGuard(JournalLock& lock) : lock_(lock) { lock_.acquire(); }
  ~JournalLockGuard() { lock_.release(); }
  JournalLockGuard(const JournalLockGuard&) = delete;
  JournalLockGuard& operator=(const JournalLockGuard&) = delete;

 private:
  JournalLock& lock_;
};

// A random (version 4) UUID string: lock rename names and journal worker ids.
std::string random_uuid();

}  // namespace kiln::optuna
