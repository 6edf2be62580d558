// One file of tokens, opened read-only; nothing of it is held in memory. Three layouts:
//   text:   any file that is not .bin: its bytes are the tokens (UTF-8 bytes, vocab 256).
//   llm.c:  a 1024-byte header of 256 little-endian int32 (header[0] the magic, [1] the
//           version, [2] the token count), then the tokens: magic 20240520 version 1 is
//           uint16 (GPT-2's tokenizer), magic 20240801 version 7 uint32 (Llama 3's), as
//           llm.c's dev/data/data_common.py writes them. The count must match the length.
//   raw:    a headerless little-endian uint16 or uint32 array (nanoGPT's train.bin), named by
//           data.dtype; a .bin without an llm.c header and without data.dtype is refused.
// Windows are read with pread (copy() is thread-safe), not through a mapping: the kernel's
// page cache keeps what is hot, and the process's resident set stays the same for a 20 MB and
// a 20 GB file (a mapping grew it by every large folio a window touched: docs/architecture.md).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace kiln::data {

enum class TokenWidth : int { kU8 = 1, kU16 = 2, kU32 = 4 };

struct TokenLayout {
  TokenWidth width = TokenWidth::kU8;
  int64_t header_bytes = 0;
  std::string name;  // "UTF-8 bytes", "llm.c uint16 (GPT-2)", "raw uint16", ...
};

// llm.c's header: 256 int32, 1024 bytes.
inline constexpr int64_t kLlmcHeaderBytes = 1024;
inline constexpr int32_t kLlmcMagicU16 = 20240520, kLlmcVersionU16 = 1;
inline constexpr int32_t kLlmcMagicU32 = 20240801, kLlmcVersionU32 = 7;

class TokenFile {
 public:
  // Opens `path` and checks its header; `dtype` is data.dtype (auto | uint8 | uint16 | uint32). Error::usage
  // naming the file for a bad header, a length that is not a whole number of tokens, a count
  // that disagrees with the header, or a width that disagrees with data.dtype. An empty file holds no tokens.
  TokenFile(const std::filesystem::path& path, const std::string& dtype);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const TokenLayout& layout() const { return layout_; }
  int64_t size() const { return tokens_; }  // tokens
  int64_t width() const { return int64_t(layout_.width); }
  // Tokens [begin, begin + n) widened to int64 into `out`. Thread-safe.
  void copy(int64_t begin, int64_t n, int64_t* out) const;
  // The raw bytes of tokens [begin, begin + n).
  void read_raw(int64_t begin, int64_t n, uint8_t* out) const;

 private:
  std::filesystem::path path_;
  TokenLayout layout_;
  int64_t tokens_ = 0;
  int fd_ = -1;
};

// The layout of a file from its first bytes and its size (no I/O; the parser the fuzzer and
// the header tests drive). `head` holds min(size, 1024) bytes.
TokenLayout token_layout(const std::filesystem::path& path, const uint8_t* head, int64_t head_bytes, int64_t size,
                         const std::string& dtype, int64_t* tokens);

}  // namespace kiln::data
