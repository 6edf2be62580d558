// Tests of the tokens source: llm.c headers (uint16 and uint32), headerless shards, text;
// every malformed file refused naming it (and the offset); streams across files; windows
// in range, the same for a (seed, epoch, index) whoever reads them, and the loader's batches
// the same for 1 and 3 threads and from a resume point.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <set>

#include "config/config.h"
#include "data/loader.h"
#include "data/tokens.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace kiln::data {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// An llm.c shard as dev/data/data_common.py writes it: 256 int32 of header, then the tokens.
template <class T>
std::vector<uint8_t> llmc(const std::vector<T>& toks, int32_t magic, int32_t version, int64_t count = -1) {
  std::vector<int32_t> header(256, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = int32_t(count < 0 ? int64_t(toks.size()) : count);
  std::vector<uint8_t> out(1024 + toks.size() * sizeof(T));
  std::memcpy(out.data(), header.data(), 1024);
  std::memcpy(out.data() + 1024, toks.data(), toks.size() * sizeof(T));
  return out;
}

template <class T>
std::vector<uint8_t> raw(const std::vector<T>& toks) {
  std::vector<uint8_t> out(toks.size() * sizeof(T));
  std::memcpy(out.data(), toks.data(), out.size());
  return out;
}

std::vector<int64_t> all(const TokenFile& f) {
  std::vector<int64_t> v(size_t(f.size()));
  f.copy(0, f.size(), v.data());
  return v;
}

// The message of the Error::usage that `f` throws ("" when it throws none).
template <class F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return e.what();
  }
  return "";
}

TEST(TokenFile, ReadsLlmcShardsOfBothWidths) {
  util::TempDir tmp("tokens");
  write(tmp.path() / "a.bin", llmc<uint16_t>({1, 50256, 7}, kLlmcMagicU16, kLlmcVersionU16));
  write(tmp.path() / "b.bin", llmc<uint32_t>({128000, 3}, kLlmcMagicU32, kLlmcVersionU32));
  const TokenFile a(tmp.path() / "a.bin", "auto"), b(tmp.path() / "b.bin", "auto");
  EXPECT_EQ(all(a), (std::vector<int64_t>{1, 50256, 7}));
  EXPECT_EQ(a.layout().header_bytes, 1024);
  EXPECT_EQ(all(b), (std::vector<int64_t>{128000, 3}));
  EXPECT_EQ(b.width(), 4);
  // data.dtype may name the header's width, but not another.
  EXPECT_EQ(all(TokenFile(tmp.path() / "a.bin", "uint16")), all(a));
  EXPECT_NE(usage_error([&] { TokenFile(tmp.path() / "a.bin", "uint32"); }).find("says uint16"), std::string::npos);
}

TEST(TokenFile, ReadsHeaderlessShardsAndText) {
  util::TempDir tmp("tokens");
  write(tmp.path() / "train.bin", raw<uint16_t>({5, 65535, 0, 9}));
  EXPECT_EQ(all(TokenFile(tmp.path() / "train.bin", "uint16")), (std::vector<int64_t>{5, 65535, 0, 9}));
  EXPECT_EQ(all(TokenFile(tmp.path() / "train.bin", "uint32")), (std::vector<int64_t>{65535u << 16 | 5, 9u << 16}));
  write(tmp.path() / "t.txt", {'h', 0xc3, 0xa9, '\n'});  // "hé\n": UTF-8 bytes are the tokens
  const TokenFile t(tmp.path() / "t.txt", "auto");
  EXPECT_EQ(all(t), (std::vector<int64_t>{'h', 0xc3, 0xa9, '\n'}));
  EXPECT_EQ(t.layout().name, "UTF-8 bytes");
  write(tmp.path() / "empty.txt", {});
  EXPECT_EQ(TokenFile(tmp.path() / "empty.txt", "auto").size(), 0);
}

TEST(TokenFile, RefusesMalformedFilesNamingThemAndTheOffset) {
  util::TempDir tmp("tokens");
  const fs::path p = tmp.path() / "shard.bin";
  auto refused = [&](const std::vector<uint8_t>& bytes, const std::string& dtype) {
    write(p, bytes);
    const std::string msg = usage_error([&] { TokenFile(p, dtype); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    return msg;
  };
  // A body that is not a whole number of tokens: the stray byte's offset is named.
  auto odd = llmc<uint16_t>({1, 2, 3}, kLlmcMagicU16, kLlmcVersionU16);
  odd.push_back(0);
  EXPECT_NE(refused(odd, "auto").find("at offset 1030"), std::string::npos);
  EXPECT_NE(refused({1, 0, 2}, "uint16").find("a stray 1 byte(s) at offset 2"), std::string::npos);
  // The header's count disagrees with the length.
  EXPECT_NE(refused(llmc<uint16_t>({1, 2, 3}, kLlmcMagicU16, kLlmcVersionU16, 4), "auto").find("counts 4 tokens"),
            std::string::npos);
  // A version kiln does not know, and a header cut short.
  EXPECT_NE(refused(llmc<uint16_t>({1}, kLlmcMagicU16, 2), "auto").find("version 2"), std::string::npos);
  auto cut = llmc<uint16_t>({}, kLlmcMagicU16, kLlmcVersionU16);
  cut.resize(600);
  EXPECT_NE(refused(cut, "auto").find("shorter than llm.c's 1024-byte header"), std::string::npos);
  // A .bin without a header and without data.dtype: which it is cannot be guessed.
  EXPECT_NE(refused(raw<uint16_t>({1, 2}), "auto").find("without an llm.c header"), std::string::npos);
  EXPECT_NE(usage_error([&] { TokenFile(tmp.path() / "missing.bin", "auto"); }).find("cannot open"), std::string::npos);
}

TEST(TokenStream, ConcatenatesFilesAndGlobsInSortedOrder) {
  util::TempDir tmp("tokens");
  write(tmp.path() / "b.txt", {'c', 'd', 'e'});
  write(tmp.path() / "a.txt", {'a', 'b'});
  write(tmp.path() / "a2.txt", {});
  const auto files = expand_token_paths((tmp.path() / "*.txt").string(), "data.train");
  ASSERT_EQ(files.size(), 3u);
  const TokenStream s(files, "auto");
  EXPECT_EQ(s.size(), 5);
  std::vector<int64_t> v(4);
  s.copy(1, 4, v.data());  // across a.txt, the empty a2.txt and b.txt
  EXPECT_EQ(v, (std::vector<int64_t>{'b', 'c', 'd', 'e'}));
  EXPECT_NE(
      usage_error([&] { expand_token_paths((tmp.path() / "*.bin").string(), "data.train"); }).find("matches no file"),
      std::string::npos);
  EXPECT_NE(usage_error([&] { expand_token_paths("", "data.train"); }).find("data.train is not set"),
            std::string::npos);
}

TEST(TokenStream, ScanFindsTheLargestIdAndHashesTheContent) {
  util::TempDir tmp("tokens");
  write(tmp.path() / "a.bin", raw<uint16_t>({3, 900, 4}));
  write(tmp.path() / "b.bin", raw<uint16_t>({3, 901, 4}));
  const TokenStream a({tmp.path() / "a.bin"}, "uint16"), b({tmp.path() / "b.bin"}, "uint16");
  const TokenScan sa = scan(a, 2), sb = scan(b, 2);
  EXPECT_EQ(sa.max_id, 900);
  EXPECT_FALSE(sa.bytes_only);
  EXPECT_EQ(sa.hash.size(), 64u);
  EXPECT_NE(sa.hash, sb.hash) << "one token differs";
  EXPECT_EQ(scan(a, 1).hash, sa.hash) << "the hash does not depend on the thread count";
  const std::string msg = usage_error([&] { throw_first_out_of_vocab(b, 901, "data.vocab"); });
  EXPECT_NE(msg.find("token 1 (byte offset 2) is id 901, not below data.vocab = 901"), std::string::npos) << msg;
}

config::DataConfig tokens_config(const fs::path& train, int64_t seq_len) {
  config::DataConfig c;
  c.dataset = "tokens";
  c.train = train.string();
  c.seq_len = seq_len;
  return c;
}

TEST(TokenWindows, TrainingWindowsAreKeyedAndValidationWindowsConsecutive) {
  util::TempDir tmp("tokens");
  std::vector<uint16_t> toks(1000);
  std::iota(toks.begin(), toks.end(), uint16_t(0));
  write(tmp.path() / "t.bin", raw(toks));
  config::DataConfig c = tokens_config(tmp.path() / "t.bin", 16);
  c.dtype = "uint16";
  c.val_tokens = 200;
  const Splits s = load_tokens(c);
  EXPECT_EQ(s.train->size(), (800 - 1) / 16);
  EXPECT_EQ(s.test->size(), (200 - 1) / 16);
  const SampleSpec spec = s.train->spec();
  EXPECT_EQ(spec.num_classes, 1000) << "vocab = the largest id + 1";
  EXPECT_EQ(spec.input.shape, (std::vector<int64_t>{16}));
  std::vector<int64_t> in(16), tgt(16);
  std::set<int64_t> starts;
  for (int64_t i = 0; i < s.train->size(); ++i) {
    s.train->read_keyed(i, {5, 2}, in.data(), tgt.data());
    EXPECT_GE(in[0], 0);
    EXPECT_LE(tgt[15], 799) << "a training window stays in the training split";
    for (int k = 0; k < 16; ++k) {
      EXPECT_EQ(in[size_t(k)], in[0] + k);
      EXPECT_EQ(tgt[size_t(k)], in[0] + k + 1) << "targets are the inputs shifted by one";
    }
    starts.insert(in[0]);
    std::vector<int64_t> again(16), unused(16);
    s.train->read_keyed(i, {5, 2}, again.data(), unused.data());
    EXPECT_EQ(again, in);
  }
  EXPECT_GT(starts.size(), 40u) << "offsets are drawn, not fixed";
  s.train->read_keyed(0, {5, 3}, in.data(), tgt.data());
  std::vector<int64_t> other(16);
  s.train->read_keyed(0, {5, 2}, other.data(), tgt.data());
  EXPECT_NE(in, other) << "another epoch draws another offset";
  for (int64_t i = 0; i < s.test->size(); ++i) {
    s.test->read_keyed(i, {5, int64_t(i)}, in.data(), tgt.data());
    EXPECT_EQ(in[0], 800 + 16 * i);
  }
}

TEST(TokenWindows, RefusesTooFewTokensAndIdsAboveTheVocabulary) {
  util::TempDir tmp("tokens");
  write(tmp.path() / "t.txt", std::vector<uint8_t>(100, 'x'));
  config::DataConfig c = tokens_config(tmp.path() / "t.txt", 64);
  EXPECT_NE(usage_error([&] { load_tokens(c); }).find("too few"), std::string::npos);
  c.seq_len = 8;
  c.vocab = 100;  // 'x' is 120
  const std::string msg = usage_error([&] { load_tokens(c); });
  EXPECT_NE(msg.find("t.txt: token 0 (byte offset 0) is id 120"), std::string::npos) << msg;
}

TEST(TokenWindows, LoaderBatchesAreTheSameForAnyThreadCountAndFromAResumePoint) {
  util::TempDir tmp("tokens");
  std::vector<uint8_t> text(5000);
  for (size_t i = 0; i < text.size(); ++i) text[i] = uint8_t('a' + (i * 7919 % 26));
  write(tmp.path() / "t.txt", text);
  const Splits s = load_tokens(tokens_config(tmp.path() / "t.txt", 32));
  auto batches = [&](int64_t threads, int64_t epoch, int64_t first) {
    LoaderOptions o;
    o.batch_size = 8;
    o.threads = threads;
    o.seed = 77;
    auto l = make_loader(s.train, o);
    l->start(epoch, first);
    std::vector<at::Tensor> out;
    while (auto b = l->next()) out.push_back(at::cat({b->input, b->target}, 1));
    return out;
  };
  const auto one = batches(1, 1, 0), three = batches(3, 1, 0), resumed = batches(3, 1, 5);
  ASSERT_EQ(one.size(), three.size());
  ASSERT_EQ(one.size(), resumed.size() + 5);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(one[i].equal(three[i])) << "batch " << i;
  for (size_t i = 0; i < resumed.size(); ++i) EXPECT_TRUE(one[i + 5].equal(resumed[i])) << "batch " << i + 5;
  EXPECT_EQ(one[0].scalar_type(), at::kLong);
}

}  // namespace
}  // namespace kiln::data
