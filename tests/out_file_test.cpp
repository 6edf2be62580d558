// Unit tests of writes on a full disk: util::atomic_write and OutFile on a tiny tmpfs. The
// error must be a runtime kiln::Error that names the final file, says "No space left on
// device", the bytes needed and the space free; nothing may be left but the old file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tmpfs_mount.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/out_file.h"

namespace kiln::util {
namespace {

using kiln_test::TmpfsMount;

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

// Runs `f`, which must throw kiln::Error; returns it (or a default one after a failure).
template <class F>
Error thrown_by(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no kiln::Error thrown";
  return Error::runtime("");
}

constexpr uint64_t kFsSize = 64 * 1024;

TEST(UtilDiskFull, AtomicWriteSaysWhatWhereAndHowMuchAndKeepsTheOldFile) {
  TmpfsMount mnt(kFsSize);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  const fs::path p = mnt / "summary.json";
  atomic_write(p, "old contents");
  const Error e = thrown_by([&] { atomic_write(p, std::string(200 * 1024, 'x')); });
  const std::string msg = e.what();
  EXPECT_EQ(e.code(), ExitCode::kRuntime);
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot write " + p.string() + ":"), std::string::npos) << "names the final file: " << msg;
  EXPECT_NE(msg.find("needs 200.0 KiB"), std::string::npos) << msg;
  // The old file's page stays taken; the rest of the 64 KiB was free for the new one.
  EXPECT_NE(msg.find("60.0 KiB free in " + mnt.path().string()), std::string::npos) << msg;
  EXPECT_NE(e.hint().find("--resume auto"), std::string::npos) << e.hint();
  EXPECT_EQ(entries(mnt.path()), std::vector<std::string>{"summary.json"}) << "temp file left behind";
  EXPECT_EQ(read_file(p), "old contents");
}

TEST(UtilDiskFull, DeferredWritesNeverThrowAndReportTheWholeSize) {
  TmpfsMount mnt(kFsSize);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  const fs::path p = mnt / "step-00000030.pt";
  const std::string chunk(4096, 'c');
  int calls = 0;
  const Error e = thrown_by([&] {
    atomic_write_with(p, [&](OutFile& out) {
      // 256 KiB in 4 KiB pieces, as LibTorch's archive writer hands them over: every call
      // returns, the error comes at check().
      for (int i = 0; i < 64; ++i, ++calls) out.write_or_defer(chunk.data(), chunk.size());
      out.check();
    });
  });
  EXPECT_EQ(calls, 64);
  const std::string msg = e.what();
  EXPECT_NE(msg.find("cannot write " + p.string() + ": No space left on device"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs 256.0 KiB; 64.0 KiB free"), std::string::npos) << msg;
  EXPECT_TRUE(entries(mnt.path()).empty()) << "the partial temp file must be removed";
}

TEST(UtilDiskFull, FailedAppendIsCutBackSoTheFileHoldsWholeRecords) {
  TmpfsMount mnt(kFsSize);
  if (!mnt.ok()) GTEST_SKIP() << mnt.why_not();
  atomic_write(mnt / "filler", std::string(kFsSize - 4096, 'f'));  // one page left
  const fs::path p = mnt / "journal";
  const std::string record = std::string(299, 'r') + "\n";
  OutFile out(p, OutFile::Mode::kAppend);
  int whole = 0;
  const Error e = thrown_by([&] {
    for (;; ++whole) out.write(record);
  });
  EXPECT_EQ(whole, 4096 / 300);
  EXPECT_NE(std::string(e.what()).find("cannot append to " + p.string() + ": No space left on device"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(fs::file_size(p), uint64_t(whole) * record.size()) << "a half record was left at the end";
}

}  // namespace
}  // namespace kiln::util
