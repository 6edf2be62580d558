// Optuna's symlink lock for journal files (see journal_lock.h), with Optuna 4.3+'s breaking
// of stale locks.
#include "optuna/journal_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "util/error.h"

namespace kiln::optuna {
namespace {

using Clock = std::chrono::steady_clock;

// Rename-then-unlink: of several processes releasing (or breaking) the same lock at once,
// exactly one rename succeeds.
bool rename_and_unlink(const std::filesystem::path& lock_path) {
  const std::string renamed = lock_path.string() + random_uuid() + ".rename";
  if (::rename(lock_path.c_str(), renamed.c_str()) != 0) return false;
  ::unlink(renamed.c_str());
  return true;
}

// The mtime Optuna watches: os.stat follows the symlink to the journal; a dangling link
// (no journal yet) falls back to the link's own time.
bool lock_mtime(const std::filesystem::path& lock_path, struct timespec& out) {
  struct stat st {};
  if (::stat(lock_path.c_str(), &st) != 0 && ::lstat(lock_path.c_str(), &st) != 0) return false;
  out = st.st_mtim;
  return true;
}

}  // namespace

std::string random_uuid() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ull) | 0x4000ull;              // version 4
  lo = (lo & ~(0xc0ull << 56)) | (0x80ull << 56);  // variant 10xx
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff), static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

JournalLock::JournalLock(const std::filesystem::path& journal_path, std::chrono::milliseconds grace)
    : target_(std::filesystem::absolute(journal_path)), lock_path_(journal_path.string() + ".lock"), grace_(grace) {}

JournalLock::~JournalLock() {
  if (held_) release();
}

void JournalLock::acquire() {
  if (held_) return;
  auto sleep = std::chrono::milliseconds(1);
  const auto max_sleep = std::chrono::milliseconds(1000);
  bool seen = false;
  struct timespec last_mtime {};
  Clock::time_point last_change = Clock::now();
  for (;;) {
    if (::symlink(target_.c_str(), lock_path_.c_str()) == 0) {
      held_ = true;
      return;
    }
    if (errno != EEXIST) {
      throw Error::runtime("cannot create the study file lock " + lock_path_.string() + ": " + std::strerror(errno),
                           "check that the study file's directory exists and is writable");
    }
    // Stale-lock detection as in Optuna: the clock restarts whenever the mtime moves.
    struct timespec mtime {};
    if (!lock_mtime(lock_path_, mtime)) continue;  // released meanwhile: retry at once
    if (!seen || mtime.tv_sec != last_mtime.tv_sec || mtime.tv_nsec != last_mtime.tv_nsec) {
      seen = true;
      last_mtime = mtime;
      last_change = Clock::now();
    }
    if (Clock::now() - last_change > grace_) {
      if (!rename_and_unlink(lock_path_)) continue;  // someone else broke or released it
      sleep = std::chrono::milliseconds(1);
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, max_sleep);
  }
}

bool JournalLock::release() {
  if (!held_) return false;
  held_ = false;
  return rename_and_unlink(lock_path_);
}

}  // namespace kiln::optuna
