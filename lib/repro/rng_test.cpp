// Unit tests for repro/rng: Philox4x32-10 against Random123's known-answer vectors, the
// bounded() mapping, and seed derivation per stream.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "repro/rng.h"

namespace kiln::repro {
namespace {

using Ctr = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;

// Known-answer vectors from Random123's kat_vectors ("philox4x32 10 ctr0..3 key0..1 -> out0..3").
TEST(RngPhilox, KnownAnswerZero) {
  EXPECT_EQ(philox4x32(Ctr{0, 0, 0, 0}, Key{0, 0}), (Ctr{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
}

TEST(RngPhilox, KnownAnswerAllOnes) {
  EXPECT_EQ(philox4x32(Ctr{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, Key{0xffffffff, 0xffffffff}),
            (Ctr{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
}

TEST(RngPhilox, KnownAnswerPi) {
  EXPECT_EQ(philox4x32(Ctr{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, Key{0xa4093822, 0x299f31d0}),
            (Ctr{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(RngPhilox, U64IsCounterBased) {
  // Same (key, a, b, c): same bits, whatever was drawn before.
  const uint64_t first = philox_u64(7, 3, 5, 11);
  for (uint64_t i = 0; i < 100; ++i) philox_u64(7, i, i * 3);
  EXPECT_EQ(philox_u64(7, 3, 5, 11), first);
  // Each argument changes the result.
  EXPECT_NE(philox_u64(8, 3, 5, 11), first);
  EXPECT_NE(philox_u64(7, 4, 5, 11), first);
  EXPECT_NE(philox_u64(7, 3, 6, 11), first);
  EXPECT_NE(philox_u64(7, 3, 5, 12), first);
  EXPECT_EQ(philox_u64(7, 3, 5), philox_u64(7, 3, 5, 0));
  // It is Philox: key and counter words laid out as rng.h says (a fills the low counter words).
  const Ctr r = philox4x32(Ctr{3, 0, 5, 11}, Key{7, 0});
  EXPECT_EQ(first, (uint64_t(r[1]) << 32) | r[0]);
}

TEST(RngPhilox, U64HighCounterAndKeyBitsMatter) {
  std::set<uint64_t> seen;
  for (uint64_t v : {uint64_t(0), uint64_t(1) << 32, uint64_t(1) << 63, ~uint64_t(0)}) {
    seen.insert(philox_u64(v, 0, 0));
    seen.insert(philox_u64(0, v, 1));
    seen.insert(philox_u64(0, 1, v));
  }
  // Twelve different (key, counter) inputs: twelve different outputs.
  EXPECT_EQ(seen.size(), 12u);
}

TEST(RngBounded, StaysInRange) {
  for (uint64_t bound : {uint64_t(1), uint64_t(2), uint64_t(3), uint64_t(7), uint64_t(10), uint64_t(1000),
                         uint64_t(60000), (uint64_t(1) << 32) + 1, (uint64_t(1) << 63) + 5, ~uint64_t(0)}) {
    EXPECT_EQ(bounded(0, bound), 0u);
    EXPECT_EQ(bounded(~uint64_t(0), bound), bound - 1);
    for (uint64_t i = 0; i < 2000; ++i) {
      const uint64_t v = bounded(philox_u64(12345, i, bound), bound);
      ASSERT_LT(v, bound) << "bound " << bound << " draw " << i;
    }
  }
}

TEST(RngBounded, BoundOneIsAlwaysZero) {
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(bounded(philox_u64(1, i, 0), 1), 0u);
}

TEST(RngBounded, RoughlyUniform) {
  // Fixed key, so this is deterministic: a chi-square statistic far beyond what a uniform
  // source gives (df = 9: mean 9, p(>= 40) ~ 5e-6) means a broken mapping or generator.
  constexpr uint64_t kBins = 10, kDraws = 100000;
  std::vector<uint64_t> count(kBins, 0);
  for (uint64_t i = 0; i < kDraws; ++i) ++count[bounded(philox_u64(0xC0FFEE, i, 0), kBins)];
  const double expected = double(kDraws) / kBins;
  double chi2 = 0;
  for (uint64_t c : count) {
    chi2 += (double(c) - expected) * (double(c) - expected) / expected;
    EXPECT_GT(c, 0u);
  }
  EXPECT_LT(chi2, 40.0);

  // A non-power-of-two bound that is large: halves of the range get about half the draws each.
  const uint64_t big = 3000000019ull;
  uint64_t low = 0;
  for (uint64_t i = 0; i < 20000; ++i) low += bounded(philox_u64(99, i, 1), big) < big / 2;
  EXPECT_GT(low, 9500u);
  EXPECT_LT(low, 10500u);
}

TEST(RngBits, EachBitRoughlyFair) {
  constexpr int kDraws = 20000;
  std::array<int, 64> ones{};
  for (uint64_t i = 0; i < kDraws; ++i) {
    const uint64_t v = philox_u64(2024, i, 0);
    for (int b = 0; b < 64; ++b) ones[b] += (v >> b) & 1;
  }
  // sd = sqrt(20000 / 4) ~ 71; +-600 is over 8 sd.
  for (int b = 0; b < 64; ++b) {
    EXPECT_GT(ones[b], kDraws / 2 - 600) << "bit " << b;
    EXPECT_LT(ones[b], kDraws / 2 + 600) << "bit " << b;
  }
}

TEST(RngDeriveSeed, StableForSameInputs) {
  EXPECT_EQ(derive_seed(0, "loader"), derive_seed(0, "loader"));
  EXPECT_EQ(derive_seed(42, "model_init"), derive_seed(42, std::string("model_") + "init"));
}

TEST(RngDeriveSeed, DiffersPerStream) {
  const std::vector<std::string> streams = {"", "loader", "model_init", "train", "dropout", "loaderx", "Loader"};
  for (uint64_t seed : {uint64_t(0), uint64_t(1), uint64_t(1234567)}) {
    std::set<uint64_t> out;
    for (const auto& s : streams) out.insert(derive_seed(seed, s));
    EXPECT_EQ(out.size(), streams.size()) << "seed " << seed;
  }
}

TEST(RngDeriveSeed, DiffersPerSeed) {
  std::set<uint64_t> out;
  for (uint64_t seed = 0; seed < 1000; ++seed) out.insert(derive_seed(seed, "loader"));
  out.insert(derive_seed(uint64_t(1) << 32, "loader"));
  out.insert(derive_seed(~uint64_t(0), "loader"));
  EXPECT_EQ(out.size(), 1002u);
}

TEST(RngDeriveSeed, NotTheSeedItself) {
  // Derived seeds are mixed, not the run seed or a small offset of it.
  for (uint64_t seed : {uint64_t(0), uint64_t(1), uint64_t(42)}) {
    const uint64_t d = derive_seed(seed, "train");
    EXPECT_NE(d, seed);
    EXPECT_GT(d > seed ? d - seed : seed - d, uint64_t(1) << 20);
  }
}

}  // namespace
}  // namespace kiln::repro
