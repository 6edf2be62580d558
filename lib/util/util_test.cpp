// Unit tests for util/: SHA-256 against FIPS 180-2 vectors, text helpers (suggestions,
// durations) and the file helpers (atomic writes, reads with usage errors).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/text.h"

namespace kiln::util {
namespace {

// ---- sha256 ---------------------------------------------------------------------------

TEST(UtilSha256, EmptyString) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(UtilSha256, Abc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(UtilSha256, TwoBlockMessage448Bits) {
  // 56 bytes: the padding no longer fits in the first block, so a second block is needed.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(UtilSha256, OneMillionAInUnevenChunks) {
  // Chunk sizes that straddle the 64-byte block boundary in every way: 1, 63, 64, 65, 127...
  const std::vector<size_t> sizes = {1, 63, 64, 65, 7, 127, 128, 129, 1000, 3, 4093};
  const std::string chunk(4096, 'a');
  Sha256 h;
  size_t left = 1000000, i = 0;
  while (left > 0) {
    const size_t n = std::min(left, sizes[i++ % sizes.size()]);
    h.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(UtilSha256, StreamingEqualsOneShot) {
  std::string msg;
  for (int i = 0; i < 300; ++i) msg += static_cast<char>(i * 7 + 3);
  const std::string whole = sha256_hex(msg);
  for (size_t split : {size_t(0), size_t(1), size_t(55), size_t(56), size_t(64), size_t(200), msg.size()}) {
    Sha256 h;
    h.update(std::string_view(msg).substr(0, split));
    h.update(std::string_view(msg).substr(split));
    EXPECT_EQ(h.hex_digest(), whole) << "split at " << split;
  }
}

// ---- text -----------------------------------------------------------------------------

TEST(UtilText, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abcd"), 4u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("sitting", "kitten"), 3u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("lr", "rl"), 2u);  // a transposition costs two edits
  EXPECT_EQ(edit_distance("optim.lrate", "optim.lr"), 3u);
  EXPECT_EQ(edit_distance("adam", "adamw"), 1u);
}

TEST(UtilText, NearestPicksClosest) {
  const std::vector<std::string> c = {"optim.lr", "optim.eps", "optim.momentum", "loader.batch_size"};
  EXPECT_EQ(nearest("optim.lrate", c), "optim.lr");
  EXPECT_EQ(nearest("optim.momentun", c), "optim.momentum");
  EXPECT_EQ(nearest("loader.batchsize", c), "loader.batch_size");
}

TEST(UtilText, NearestEmptyWhenNothingClose) {
  const std::vector<std::string> c = {"optim.lr", "optim.eps", "loader.batch_size"};
  EXPECT_EQ(nearest("completely_unrelated", c), "");
  EXPECT_EQ(nearest("xyz", {"abc"}), "");  // distance 3 > max(2, 1)
  EXPECT_EQ(nearest("abc", {}), "");
  // The limit is max(2, |word| / 3): two edits are still accepted for a short word...
  EXPECT_EQ(nearest("ab", {"xy"}), "xy");
  // ...and a long word gets a wider limit: 12 chars -> 4 edits allowed, 5 not.
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefghWXYZ"}), "abcdefghWXYZ");
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefgVWXYZ"}), "");
}

TEST(UtilText, NearestPrefersKeyThatTheTypoExtends) {
  // "optim.lrate" is 3 edits from both "optim.name" and "optim.lr"; the user meant the lr.
  EXPECT_EQ(nearest("optim.lrate", {"optim.name", "optim.lr"}), "optim.lr");
}

TEST(UtilText, DidYouMeanFormat) {
  EXPECT_EQ(did_you_mean("adam", {"adamw", "sgd"}), "did you mean 'adamw'?");
  EXPECT_EQ(did_you_mean("rmsprop_with_nesterov", {"adamw", "sgd"}), "");
}

TEST(UtilText, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(5), "0:05");
  EXPECT_EQ(format_duration(59.4), "0:59");
  EXPECT_EQ(format_duration(59.6), "1:00");  // rounds to the nearest second
  EXPECT_EQ(format_duration(123), "2:03");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(36000 + 61), "10:01:01");
  EXPECT_EQ(format_duration(-5), "0:00");
}

// ---- fs -------------------------------------------------------------------------------

class UtilFs : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-util-fs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  // Names of every entry in the test dir.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
};

TEST_F(UtilFs, AtomicWriteCreatesFileWithExactBytes) {
  const fs::path p = dir_ / "out.bin";
  std::string bytes = "line one\nline two\r\n";
  bytes += '\0';
  bytes += "\xff\x01 tail";
  atomic_write(p, bytes);
  ASSERT_TRUE(fs::exists(p));
  EXPECT_EQ(fs::file_size(p), bytes.size());
  EXPECT_EQ(read_file(p), bytes);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.bin"});  // no temp file left behind
}

TEST_F(UtilFs, AtomicWriteOverwritesExisting) {
  const fs::path p = dir_ / "config.toml";
  atomic_write(p, std::string(10000, 'x'));
  atomic_write(p, "short");
  EXPECT_EQ(read_file(p), "short");  // truncated, not a prefix overwrite
  atomic_write(p, "");
  EXPECT_EQ(read_file(p), "");
  EXPECT_EQ(entries(), std::vector<std::string>{"config.toml"});
}

TEST_F(UtilFs, AtomicWriteWithThrowingWriterKeepsOldTarget) {
  const fs::path p = dir_ / "weights.pt";
  atomic_write(p, "old contents");
  fs::path seen_tmp;
  EXPECT_THROW(atomic_write_with(p,
                                 [&](OutFile& out) {
                                   out.write("half written");
                                   for (const auto& e : fs::directory_iterator(dir_)) {
                                     if (e.path() != p) seen_tmp = e.path();
                                   }
                                   throw std::runtime_error("writer failed");
                                 }),
               std::runtime_error);
  EXPECT_FALSE(seen_tmp.empty());
  EXPECT_EQ(seen_tmp.parent_path(), p.parent_path());  // beside the target, so rename is atomic
  EXPECT_FALSE(fs::exists(seen_tmp));
  EXPECT_EQ(read_file(p), "old contents");
  EXPECT_EQ(entries(), std::vector<std::string>{"weights.pt"});
}

TEST_F(UtilFs, AtomicWriteWithThrowingWriterAndNoTarget) {
  const fs::path p = dir_ / "new.pt";
  EXPECT_THROW(atomic_write_with(p,
                                 [&](OutFile& out) {
                                   out.write("partial");
                                   throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(entries().empty());
}

TEST_F(UtilFs, AtomicWriteWithWriterFillingTemp) {
  const fs::path p = dir_ / "archive.bin";
  atomic_write_with(p, [](OutFile& out) {
    out.write("from ");
    out.write_or_defer("writer", 6);
    out.check();
  });
  EXPECT_EQ(read_file(p), "from writer");
  EXPECT_EQ(entries(), std::vector<std::string>{"archive.bin"});
}

// The torch wheel's libtorch.so exports a broken copy of std::filesystem; kiln links
// libstdc++ first so that these resolve to the system's (cmake/find_torch.cmake). This
// crashed (a call through a null pointer) before that.
TEST_F(UtilFs, RecursiveFilesystemCallsWork) {
  fs::create_directories(dir_ / "a" / "b" / "c");
  util::atomic_write(dir_ / "a" / "b" / "c" / "f", "x");
  int n = 0;
  for (auto it = fs::recursive_directory_iterator(dir_ / "a"); it != fs::recursive_directory_iterator(); ++it) ++n;
  EXPECT_EQ(n, 3);                            // b, b/c, b/c/f
  EXPECT_EQ(fs::remove_all(dir_ / "a"), 4u);  // and a itself
  EXPECT_FALSE(fs::exists(dir_ / "a"));
}

TEST_F(UtilFs, ReadFileMissingIsUsageError) {
  const fs::path p = dir_ / "does-not-exist.toml";
  try {
    read_file(p);
    FAIL() << "read_file of a missing path did not throw";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("does-not-exist.toml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::util
