// TokenStream: token files end to end, as one sequence of token positions (a window may run
// across two files, as nanoGPT's concatenated train.bin would). The scan reads every token
// once, in parallel, for the largest id (the vocabulary check) and a content hash (the
// manifest's fingerprint).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/token_file.h"

namespace kiln::data {

class TokenStream {
 public:
  // Maps `files` in order (each one a TokenFile with data.dtype `dtype`).
  TokenStream(const std::vector<std::filesystem::path>& files, const std::string& dtype);
  int64_t size() const { return starts_.back(); }
  const std::vector<std::unique_ptr<TokenFile>>& files() const { return files_; }
  // Tokens [begin, begin + n) of the stream, widened to int64. Thread-safe.
  void copy(int64_t begin, int64_t n, int64_t* out) const;
  // The file holding stream position `pos`, and the position within that file.
  std::pair<const TokenFile*, int64_t> locate(int64_t pos) const;
  // A line for the log: "43 files, 2,576,674 tokens (UTF-8 bytes)".
  std::string describe() const;

 private:
  std::vector<std::unique_ptr<TokenFile>> files_;
  std::vector<int64_t> starts_;  // files_[i] holds positions [starts_[i], starts_[i + 1])
};

struct TokenScan {
  int64_t max_id = -1;     // -1 for an empty stream
  std::string hash;        // 64 hex digits over every file's layout and tokens
  bool bytes_only = true;  // every file is UTF-8 bytes (vocab 256 by construction)
};

// Reads the whole stream on `threads` threads, with a progress line every few seconds.
TokenScan scan(const TokenStream& s, int threads);

// Error::usage naming the file, the token offset and the byte offset of the first id at or
// above `vocab` (call when scan().max_id >= vocab).
[[noreturn]] void throw_first_out_of_vocab(const TokenStream& s, int64_t vocab, const std::string& key);

// data.train / data.test: a path or a glob pattern, matched files sorted. Error::usage naming
// `key` when nothing matches.
std::vector<std::filesystem::path> expand_token_paths(const std::string& pattern, const std::string& key);

}  // namespace kiln::data
