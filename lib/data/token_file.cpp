// TokenFile: the header check, the mapping, and the widening copy.
#include "data/token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "util/error.h"

// Token files are little-endian (llm.c and numpy on x86 write them so); copy() loads them as is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "kiln reads little-endian token files on LE hosts only");

namespace kiln::data {
namespace {

int32_t le32(const uint8_t* p) {
  return int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
}

std::string lower_ext(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

TokenWidth width_of(const std::string& dtype) {
  if (dtype == "uint16") return TokenWidth::kU16;
  if (dtype == "uint32") return TokenWidth::kU32;
  return TokenWidth::kU8;
}

}  // namespace

TokenLayout token_layout(const std::filesystem::path& path, const uint8_t* head, int64_t head_bytes, int64_t size,
                         const std::string& dtype, int64_t* tokens) {
  const std::string where = path.string();
  TokenLayout l;
  const int32_t magic = head_bytes >= 12 ? le32(head) : 0;
  if (magic == kLlmcMagicU16 || magic == kLlmcMagicU32) {
    const int32_t version = le32(head + 4), count = le32(head + 8);
    const bool u16 = magic == kLlmcMagicU16;
    const int32_t want = u16 ? kLlmcVersionU16 : kLlmcVersionU32;
    if (version != want) {
      throw Error::usage(where + ": an llm.c token header (magic " + std::to_string(magic) + ") with version " +
                             std::to_string(version) + "; kiln reads version " + std::to_string(want) + " for it",
                         "rewrite the shard with llm.c's dev/data/data_common.py, or strip the header and set "
                         "data.dtype");
    }
    l.width = u16 ? TokenWidth::kU16 : TokenWidth::kU32;
    l.header_bytes = kLlmcHeaderBytes;
    l.name = u16 ? "llm.c uint16 (GPT-2)" : "llm.c uint32 (Llama 3)";
    if (dtype != "auto" && width_of(dtype) != l.width) {
      throw Error::usage(where + ": its llm.c header says " + (u16 ? "uint16" : "uint32") +
                             " tokens but data.dtype = \"" + dtype + "\"",
                         "set data.dtype = \"auto\" (the header decides)");
    }
    if (size < kLlmcHeaderBytes) {
      throw Error::usage(where + ": " + std::to_string(size) + " bytes, shorter than llm.c's 1024-byte header",
                         "the file was cut short: write it again");
    }
    const int64_t body = size - kLlmcHeaderBytes, w = int64_t(l.width);
    if (body % w != 0) {
      throw Error::usage(where + ": " + std::to_string(body) + " bytes after the header, not a whole number of " +
                             std::to_string(w) + "-byte tokens (a stray " + std::to_string(body % w) +
                             " byte(s) at offset " + std::to_string(size - body % w) + ")",
                         "the file was cut short or appended to: write it again");
    }
    if (count < 0 || body / w != count) {
      throw Error::usage(where + ": its header counts " + std::to_string(count) + " tokens but the file holds " +
                             std::to_string(body / w),
                         "the file was cut short or appended to: write it again");
    }
    *tokens = body / w;
    return l;
  }
  if (dtype == "auto" && lower_ext(path) == ".bin") {
    throw Error::usage(where + ": a .bin file without an llm.c header (its first int32 is " + std::to_string(magic) +
                           ", not 20240520 or 20240801)",
                       "for a headerless shard (nanoGPT's train.bin) set data.dtype = \"uint16\" or \"uint32\"; for "
                       "text, name it other than .bin or set data.dtype = \"uint8\"");
  }
  l.width = width_of(dtype);
  l.name = l.width == TokenWidth::kU8 ? "UTF-8 bytes" : "raw " + dtype;
  const int64_t w = int64_t(l.width);
  if (size % w != 0) {
    throw Error::usage(where + ": " + std::to_string(size) + " bytes, not a whole number of " + std::to_string(w) +
                           "-byte tokens (a stray " + std::to_string(size % w) + " byte(s) at offset " +
                           std::to_string(size - size % w) + ")",
                       "check data.dtype (uint16 vs uint32), or write the file again");
  }
  *tokens = size / w;
  return l;
}

TokenFile::TokenFile(const std::filesystem::path& path, const std::string& dtype) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw Error::usage(path.string() + ": cannot open: " + std::strerror(errno), "check data.train / data.test");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error::usage(path.string() + ": not a regular file", "name token files (or a glob of them)");
  }
  uint8_t head[kLlmcHeaderBytes] = {};
  const ssize_t got = ::pread(fd_, head, sizeof head, 0);
  const int64_t size = st.st_size;
  try {
    if (got < 0 || got < std::min<int64_t>(size, kLlmcHeaderBytes)) {
      throw Error::usage(path.string() + ": cannot read its first bytes", "check the file");
    }
    layout_ = token_layout(path, head, got, size, dtype, &tokens_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

TokenFile::~TokenFile() {
  if (fd_ >= 0) ::close(fd_);
}

void TokenFile::read_raw(int64_t begin, int64_t n, uint8_t* out) const {
  const size_t want = size_t(n * width());
  size_t got = 0;
  while (got < want) {
    const ssize_t r = ::pread(fd_, out + got, want - got, off_t(layout_.header_bytes + begin * width()) + off_t(got));
    if (r <= 0) {
      throw Error::runtime(path_.string() + ": read failed at byte " +
                           std::to_string(layout_.header_bytes + begin * width() + int64_t(got)) + ": " +
                           (r == 0 ? std::string("the file shrank") : std::string(std::strerror(errno))));
    }
    got += size_t(r);
  }
}

void TokenFile::copy(int64_t begin, int64_t n, int64_t* out) const {
  // The raw tokens into this thread's buffer (one pread), then widened. Little-endian files
  // on a little-endian host (x86-64, aarch64): plain loads.
  thread_local std::vector<uint8_t> raw;
  raw.resize(size_t(n * width()));
  read_raw(begin, n, raw.data());
  const uint8_t* p = raw.data();
  switch (layout_.width) {
    case TokenWidth::kU8:
      for (int64_t i = 0; i < n; ++i) out[i] = p[i];
      break;
    case TokenWidth::kU16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        out[i] = v;
      }
      break;
    case TokenWidth::kU32:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        out[i] = v;
      }
      break;
  }
}

}  // namespace kiln::data
