// data.dataset = "tokens": next-token prediction windows over token files (data.train, and
// data.test or the last data.val_tokens of data.train). A sample is int64 [seq_len] input
// tokens and int64 [seq_len] targets, the same window shifted by one (seq_len + 1 tokens read).
//   training:   an epoch is (tokens - 1) / seq_len windows, window i of epoch e starting at a
//               Philox draw keyed on (loader seed, e, i): any rank, thread or resume point
//               computes any window's offset alone, without reading the others.
//   validation: the split cut into consecutive windows from its start, the same every time.
// The vocabulary is data.vocab (0: 256 for bytes, else the largest id + 1); every id in every
// file is checked against it before anything is written.
#pragma once
#include <memory>

#include "data/dataset.h"
#include "data/token_stream.h"

namespace kiln::data {

class TokenWindows : public Dataset {
 public:
  // Positions [begin, end) of `stream`.
  TokenWindows(std::shared_ptr<const TokenStream> stream, int64_t begin, int64_t end, int64_t seq_len, int64_t vocab,
               bool train, std::string fingerprint);
  int64_t size() const override;
  SampleSpec spec() const override;
  void read(int64_t index, void* input, void* target) const override { read_keyed(index, {}, input, target); }
  void read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const override;
  std::string fingerprint() const override { return fingerprint_; }
  bool draws_own_order() const override { return train_; }
  // The stream position window `index` starts at, under `key`.
  int64_t offset(int64_t index, const SampleKey& key) const;

 private:
  std::shared_ptr<const TokenStream> stream_;
  int64_t begin_, end_, seq_len_, vocab_;
  bool train_;
  std::string fingerprint_;
};

Splits load_tokens(const config::DataConfig& cfg);

}  // namespace kiln::data
