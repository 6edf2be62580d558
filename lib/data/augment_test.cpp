// Unit tests for data/augment.h: draws are deterministic per (seed, epoch, index) and cover
// their range, crops and flips move pixels exactly as documented, and the normalisation
// table is (v / 255 - mean) / std in float32.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "data/augment.h"

namespace kiln::data {
namespace {

const ImageShape kShape{1, 4, 5};

std::vector<uint8_t> ramp() {  // pixel (y, x) = 10 * y + x + 1 (never 0, so padding shows)
  std::vector<uint8_t> v(20);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) v[size_t(y * 5 + x)] = uint8_t(10 * y + x + 1);
  return v;
}

TEST(Augment, DrawsAreDeterministicAndCoverTheirRange) {
  const AugmentOptions a{2, true};
  std::set<int64_t> dys, dxs;
  int flips = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    const auto d = draw_augment(a, 9, 3, i), again = draw_augment(a, 9, 3, i);
    EXPECT_EQ(d.dy, again.dy);
    EXPECT_EQ(d.dx, again.dx);
    EXPECT_EQ(d.flip, again.flip);
    ASSERT_GE(d.dy, 0);
    ASSERT_LE(d.dy, 4);
    ASSERT_GE(d.dx, 0);
    ASSERT_LE(d.dx, 4);
    dys.insert(d.dy);
    dxs.insert(d.dx);
    flips += d.flip;
  }
  EXPECT_EQ(dys.size(), 5u);
  EXPECT_EQ(dxs.size(), 5u);
  // 2000 fair coin flips: 1000 +- 5 sigma (sigma = 22.4).
  EXPECT_NEAR(flips, 1000, 112);
}

TEST(Augment, DrawsDependOnSeedEpochAndIndex) {
  const AugmentOptions a{3, true};
  auto key = [&](uint64_t s, int64_t e, int64_t i) {
    const auto d = draw_augment(a, s, e, i);
    return d.dy * 100 + d.dx * 10 + d.flip;
  };
  int differ_seed = 0, differ_epoch = 0;
  for (int64_t i = 0; i < 200; ++i) {
    differ_seed += key(1, 0, i) != key(2, 0, i);
    differ_epoch += key(1, 0, i) != key(1, 1, i);
  }
  // 98 equally likely outcomes: two independent draws agree about 1% of the time.
  EXPECT_GT(differ_seed, 150);
  EXPECT_GT(differ_epoch, 150);
}

TEST(Augment, DisabledDrawsNothing) {
  const auto d = draw_augment(AugmentOptions{}, 1, 2, 3);
  EXPECT_EQ(d.dy, 0);
  EXPECT_EQ(d.dx, 0);
  EXPECT_FALSE(d.flip);
}

TEST(Augment, CenteredCropWithoutFlipIsIdentity) {
  const auto src = ramp();
  std::vector<uint8_t> out(20);
  augment_u8(src.data(), kShape, {2, false}, {2, 2, false}, out.data());
  EXPECT_EQ(out, src);
}

TEST(Augment, CropShiftsAndPadsWithZero) {
  const auto src = ramp();
  std::vector<uint8_t> out(20);
  // Offset (0, 3) on the 2-padded image: out(y, x) = src(y - 2, x + 1).
  augment_u8(src.data(), kShape, {2, false}, {0, 3, false}, out.data());
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      const int sy = y - 2, sx = x + 1;
      const uint8_t want = (sy >= 0 && sx < 5) ? src[size_t(sy * 5 + sx)] : 0;
      EXPECT_EQ(out[size_t(y * 5 + x)], want) << y << "," << x;
    }
  }
}

TEST(Augment, FlipMirrorsEachRow) {
  const auto src = ramp();
  std::vector<uint8_t> out(20);
  augment_u8(src.data(), kShape, {0, true}, {0, 0, true}, out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(out[size_t(y * 5 + x)], src[size_t(y * 5 + 4 - x)]);
}

TEST(Augment, FloatPathEqualsU8PathThroughTheTable) {
  const auto src = ramp();
  const auto lut = normalize_lut({0.3}, {0.7});
  std::vector<uint8_t> u8(20);
  std::vector<float> f32(20);
  const AugmentDraw d{1, 4, true};
  augment_u8(src.data(), kShape, {2, true}, d, u8.data());
  augment_f32(src.data(), kShape, {2, true}, d, lut.data(), f32.data());
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(f32[i], lut[u8[i]]);
}

TEST(Augment, NormalizeTablePerChannel) {
  const auto lut = normalize_lut({0.5, 0.25}, {0.5, 2.0});
  ASSERT_EQ(lut.size(), 512u);
  EXPECT_FLOAT_EQ(lut[0], -1.0f);
  EXPECT_FLOAT_EQ(lut[255], 1.0f);
  EXPECT_FLOAT_EQ(lut[256 + 0], -0.125f);
  EXPECT_FLOAT_EQ(lut[256 + 255], 0.375f);
  EXPECT_EQ(lut[51], (51.0f / 255.0f - 0.5f) / 0.5f);
}

}  // namespace
}  // namespace kiln::data
