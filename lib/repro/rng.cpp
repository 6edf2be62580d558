// Philox4x32-10 and seed derivation (FNV-1a of the stream name, mixed through Philox).
#include "repro/rng.h"

namespace kiln::repro {

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kMul0) * ctr[0];
    const uint64_t p1 = uint64_t(kMul1) * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ key[0], uint32_t(p1), uint32_t(p0 >> 32) ^ ctr[3] ^ key[1], uint32_t(p0)};
    key[0] += kWeyl0;
    key[1] += kWeyl1;
  }
  return ctr;
}

uint64_t philox_u64(uint64_t key, uint64_t a, uint64_t b, uint64_t c) {
  // a fills 64 bits of the counter; b and c share the other 64 (b low, c high).
  const auto r = philox4x32({uint32_t(a), uint32_t(a >> 32), uint32_t(b), uint32_t(c) ^ uint32_t(b >> 32)},
                            {uint32_t(key), uint32_t(key >> 32)});
  return (uint64_t(r[1]) << 32) | r[0];
}

uint64_t derive_seed(uint64_t seed, std::string_view stream) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : stream) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  return philox_u64(seed, h, 0x6b696c6e /* "kiln" */);
}

}  // namespace kiln::repro
