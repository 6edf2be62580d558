// The tokens source: windows, the split, the vocabulary check.
#include "data/tokens.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "config/config.h"
#include "repro/rng.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::data {
namespace {

// Philox's third counter word for window offsets: a stream of its own beside the loader's
// order and augmentation draws, which use the same (seed, epoch, index).
constexpr uint64_t kWindowStream = 0x746f6b656e73ull;  // "tokens"

}  // namespace

TokenWindows::TokenWindows(std::shared_ptr<const TokenStream> stream, int64_t begin, int64_t end, int64_t seq_len,
                           int64_t vocab, bool train, std::string fingerprint)
    : stream_(std::move(stream)),
      begin_(begin),
      end_(end),
      seq_len_(seq_len),
      vocab_(vocab),
      train_(train),
      fingerprint_(std::move(fingerprint)) {}

int64_t TokenWindows::size() const { return (end_ - begin_ - 1) / seq_len_; }

SampleSpec TokenWindows::spec() const {
  SampleSpec s;
  s.input = {c10::ScalarType::Long, {seq_len_}};
  s.target = {c10::ScalarType::Long, {seq_len_}};
  s.num_classes = vocab_;
  return s;
}

int64_t TokenWindows::offset(int64_t index, const SampleKey& key) const {
  if (!train_) return begin_ + index * seq_len_;
  // n - seq_len starting points keep all seq_len + 1 tokens inside [begin, end).
  const uint64_t starts = uint64_t(end_ - begin_ - seq_len_);
  const uint64_t bits = repro::philox_u64(key.seed, uint64_t(key.epoch), uint64_t(index), kWindowStream);
  return begin_ + int64_t(repro::bounded(bits, starts));
}

void TokenWindows::read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const {
  // One read of seq_len + 1 tokens: the input is its first seq_len, the target its last.
  thread_local std::vector<int64_t> window;
  window.resize(size_t(seq_len_ + 1));
  stream_->copy(offset(index, key), seq_len_ + 1, window.data());
  std::memcpy(input, window.data(), size_t(seq_len_) * sizeof(int64_t));
  std::memcpy(target, window.data() + 1, size_t(seq_len_) * sizeof(int64_t));
}

namespace {

std::string count(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

}  // namespace

Splits load_tokens(const config::DataConfig& cfg) {
  const int64_t T = cfg.seq_len;
  const int threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  auto train = std::make_shared<const TokenStream>(expand_token_paths(cfg.train, "data.train"), cfg.dtype);
  std::shared_ptr<const TokenStream> test;
  if (!cfg.test.empty())
    test = std::make_shared<const TokenStream>(expand_token_paths(cfg.test, "data.test"), cfg.dtype);

  const TokenScan ts = scan(*train, threads);
  const TokenScan vs = test ? scan(*test, threads) : TokenScan{};
  const bool bytes_only = ts.bytes_only && vs.bytes_only;
  const int64_t vocab = cfg.vocab > 0 ? cfg.vocab : bytes_only ? 256 : std::max(ts.max_id, vs.max_id) + 1;
  if (ts.max_id >= vocab) throw_first_out_of_vocab(*train, vocab, "data.vocab");
  if (test && vs.max_id >= vocab) throw_first_out_of_vocab(*test, vocab, "data.vocab");

  // The split: data.test, or the last val_tokens of data.train.
  int64_t train_end = train->size(), val_begin = 0, val_end = test ? test->size() : 0;
  if (!test) {
    const int64_t val = cfg.val_tokens > 0 ? cfg.val_tokens : std::min<int64_t>(train->size() / 10, 1 << 20);
    train_end = train->size() - val;
    val_begin = train_end;
    val_end = train->size();
    if (val < T + 1 || train_end < T + 1) {
      throw Error::usage("data.train = \"" + cfg.train + "\" holds " + count(train->size()) + " tokens: too few for " +
                             count(val) + " validation tokens (data.val_tokens) and windows of data.seq_len + 1 = " +
                             count(T + 1) + " on both sides",
                         "give more text, a smaller data.seq_len, or a validation file in data.test");
    }
  } else if (train->size() < T + 1 || test->size() < T + 1) {
    const bool short_train = train->size() < T + 1;
    throw Error::usage(std::string(short_train ? "data.train" : "data.test") + " = \"" +
                           (short_train ? cfg.train : cfg.test) + "\" holds " +
                           count(short_train ? train->size() : test->size()) +
                           " tokens, fewer than one window of data.seq_len + 1 = " + count(T + 1),
                       "give more tokens or a smaller data.seq_len");
  }
  log::info("tokens: data.train " + train->describe() + (test ? "; data.test " + test->describe() : "") +
            "; vocabulary " + count(vocab) + "; " + count(train_end) + " training and " + count(val_end - val_begin) +
            " validation tokens");

  const std::string print = "tokens:" + ts.hash.substr(0, 16) + (test ? "+" + vs.hash.substr(0, 16) : "") + ":v" +
                            std::to_string(vocab) + ":T" + std::to_string(T);
  Splits s;
  s.train = std::make_shared<TokenWindows>(train, 0, train_end, T, vocab, true,
                                           print + ":train[0," + std::to_string(train_end) + ")");
  s.test =
      std::make_shared<TokenWindows>(test ? test : train, val_begin, val_end, T, vocab, false,
                                     print + ":val[" + std::to_string(val_begin) + "," + std::to_string(val_end) + ")");
  return s;
}

}  // namespace kiln::data
