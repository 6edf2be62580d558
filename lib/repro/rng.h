// Counter-based random numbers (Philox4x32-10) and seed derivation. A draw depends only on
// (key, counter), never on call order or thread, which is what makes data order and
// augmentation independent of thread counts and timing.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace kiln::repro {

// Philox4x32 with 10 rounds (Salmon et al., SC'11): 128-bit counter, 64-bit key.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// 64 random bits for (key, a, b, c): the counter is (a, b, c) spread over 128 bits.
uint64_t philox_u64(uint64_t key, uint64_t a, uint64_t b, uint64_t c = 0);

// A uniformly distributed integer in [0, bound) from 64 random bits (Lemire's multiply-high).
inline uint64_t bounded(uint64_t bits, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * bound) >> 64);
}

// An independent seed for a named stream ("model_init", "loader", ...) derived from the
// run seed; adding a stream never shifts the others.
uint64_t derive_seed(uint64_t seed, std::string_view stream);

}  // namespace kiln::repro
