// TokenStream: the concatenation, the glob, and the parallel scan.
#include "data/token_stream.h"

#include <glob.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "util/error.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/sha256.h"

namespace kiln::data {
namespace fs = std::filesystem;

TokenStream::TokenStream(const std::vector<fs::path>& files, const std::string& dtype) {
  starts_.push_back(0);
  for (const auto& f : files) {
    files_.push_back(std::make_unique<TokenFile>(f, dtype));
    starts_.push_back(starts_.back() + files_.back()->size());
  }
}

std::pair<const TokenFile*, int64_t> TokenStream::locate(int64_t pos) const {
  // The last file starting at or before pos: among files that start at the same position
  // (empty ones before it), upper_bound picks the one that holds tokens.
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), pos);
  const size_t i = size_t(it - starts_.begin()) - 1;
  return {files_[i].get(), pos - starts_[i]};
}

void TokenStream::copy(int64_t begin, int64_t n, int64_t* out) const {
  while (n > 0) {
    const auto [file, at] = locate(begin);
    const int64_t take = std::min(n, file->size() - at);
    file->copy(at, take, out);
    begin += take;
    out += take;
    n -= take;
  }
}

std::string TokenStream::describe() const {
  std::string layouts;
  for (const auto& f : files_) {
    if (layouts.find(f->layout().name) == std::string::npos)
      layouts += (layouts.empty() ? "" : ", ") + f->layout().name;
  }
  return std::to_string(files_.size()) + (files_.size() == 1 ? " file, " : " files, ") + std::to_string(size()) +
         " tokens (" + layouts + ")";
}

namespace {

struct Chunk {
  const TokenFile* file;
  int64_t begin, n;
};

constexpr int64_t kChunkBytes = 8 << 20;

std::vector<Chunk> chunks_of(const TokenStream& s) {
  std::vector<Chunk> out;
  for (const auto& f : s.files()) {
    const int64_t per = kChunkBytes / f->width();
    for (int64_t b = 0; b < f->size(); b += per) out.push_back({f.get(), b, std::min(per, f->size() - b)});
  }
  return out;
}

// The largest id of a chunk's raw bytes.
int64_t max_id(const uint8_t* p, int64_t n, int64_t width) {
  uint32_t m = 0;
  if (width == 1) {
    for (int64_t i = 0; i < n; ++i) m = std::max<uint32_t>(m, p[i]);
  } else if (width == 2) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      m = std::max<uint32_t>(m, v);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      m = std::max(m, v);
    }
  }
  return int64_t(m);
}

// A 64-bit hash of a chunk's bytes: four multiply-rotate lanes over 8-byte words (fast enough
// to keep up with the disk), folded together with the length. Not cryptographic: the manifest
// hashes the chunk hashes with SHA-256.
uint64_t chunk_hash(const uint8_t* p, size_t n) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {1, 2, 3, 4};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      lane[k] = ((lane[k] ^ w) * kMul);
      lane[k] = (lane[k] << 29) | (lane[k] >> 35);
    }
  }
  uint64_t h = n * kMul;
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  for (const uint64_t l : lane) h = ((h ^ l) * kMul) ^ (h >> 31);
  return h;
}

}  // namespace

TokenScan scan(const TokenStream& s, int threads) {
  const std::vector<Chunk> chunks = chunks_of(s);
  std::vector<int64_t> maxes(chunks.size(), -1);
  std::vector<uint64_t> hashes(chunks.size(), 0);
  const int64_t total_bytes = [&] {
    int64_t b = 0;
    for (const auto& f : s.files()) b += f->size() * f->width();
    return b;
  }();
  std::atomic<int64_t> done_bytes{0};
  std::atomic<int64_t> next_report{std::chrono::steady_clock::now().time_since_epoch().count()};
  const int64_t report_every =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(5)).count();
  util::parallel_for(int64_t(chunks.size()), threads, [&](int64_t i) {
    thread_local std::vector<uint8_t> buf;
    const Chunk& c = chunks[size_t(i)];
    buf.resize(size_t(kChunkBytes));
    c.file->read_raw(c.begin, c.n, buf.data());
    maxes[size_t(i)] = max_id(buf.data(), c.n, c.file->width());
    hashes[size_t(i)] = chunk_hash(buf.data(), size_t(c.n * c.file->width()));
    const int64_t done = done_bytes += c.n * c.file->width();
    int64_t due = next_report.load();
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now >= due + report_every && next_report.compare_exchange_strong(due, now)) {
      log::info("scanning tokens: " + std::to_string(done >> 20) + " / " + std::to_string(total_bytes >> 20) + " MiB");
    }
  });
  TokenScan out;
  util::Sha256 h;
  for (const auto& f : s.files()) {
    const std::string head = f->layout().name + ":" + std::to_string(f->size()) + ";";
    h.update(head);
    out.bytes_only = out.bytes_only && f->width() == 1;
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    out.max_id = std::max(out.max_id, maxes[i]);
    h.update(&hashes[i], sizeof hashes[i]);
  }
  out.hash = h.hex_digest();
  return out;
}

void throw_first_out_of_vocab(const TokenStream& s, int64_t vocab, const std::string& key) {
  std::vector<uint8_t> buf(static_cast<size_t>(kChunkBytes));
  for (const Chunk& c : chunks_of(s)) {
    c.file->read_raw(c.begin, c.n, buf.data());
    if (max_id(buf.data(), c.n, c.file->width()) < vocab) continue;
    std::vector<int64_t> ids(size_t(c.n));
    c.file->copy(c.begin, c.n, ids.data());
    for (int64_t i = 0; i < c.n; ++i) {
      if (ids[size_t(i)] < vocab) continue;
      const int64_t tok = c.begin + i;
      throw Error::usage(c.file->path().string() + ": token " + std::to_string(tok) + " (byte offset " +
                             std::to_string(c.file->layout().header_bytes + tok * c.file->width()) + ") is id " +
                             std::to_string(ids[size_t(i)]) + ", not below " + key + " = " + std::to_string(vocab),
                         "set " + key + " to the tokenizer's vocabulary size (0 = the largest id + 1)");
    }
  }
  throw Error::runtime("internal: no token at or above the vocabulary was found on the second pass");
}

std::vector<fs::path> expand_token_paths(const std::string& pattern, const std::string& key) {
  if (pattern.empty()) throw Error::usage(key + " is not set: data.dataset = \"tokens\" needs a file (or a glob)");
  if (pattern.find_first_of("*?[") == std::string::npos) {
    std::error_code ec;
    if (!fs::exists(pattern, ec)) {
      throw Error::usage(key + " = \"" + pattern + "\": no such file", "check the path (a glob pattern also works)");
    }
    return {fs::path(pattern)};
  }
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<fs::path> out;
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (out.empty()) throw Error::usage(key + " = \"" + pattern + "\" matches no file", "check the pattern");
  std::sort(out.begin(), out.end());  // glob sorts by the locale; bytes are the same everywhere
  return out;
}

}  // namespace kiln::data
