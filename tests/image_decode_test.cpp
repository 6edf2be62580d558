// Tests of lib/image/decode: PNG gray/RGB/RGBA/gray+alpha into 1 and 3 channels, JPEG at
// full and DCT-reduced scale, the scale choice against its definition, and bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "image/decode.h"
#include "image_files.h"
#include "util/error.h"

namespace {

using kiln::image::Decoder;
using kiln::image::Pixels;
using kiln::image::Scale;
using kiln_test::pattern;

std::string decode_error(const std::vector<uint8_t>& bytes) {
  Decoder d;
  Pixels out;
  try {
    d.decode(bytes.data(), bytes.size(), "dir/bad.jpg", 3, {}, out);
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
    return e.what();
  }
  ADD_FAILURE() << "decoded without error";
  return "";
}

TEST(ImageDecode, PngIntoOneAndThreeChannels) {
  Decoder d;
  for (int src_channels : {1, 2, 3, 4}) {
    const Pixels src = pattern(13, 7, src_channels, 5);
    const auto png = kiln_test::encode_png(src);
    const auto h = d.header(png.data(), png.size(), "x.png");
    EXPECT_EQ(h.format, kiln::image::Format::kPng);
    EXPECT_EQ(h.width, 13);
    EXPECT_EQ(h.height, 7);
    EXPECT_EQ(h.channels, src_channels);
    Pixels rgb, gray;
    d.decode(png.data(), png.size(), "x.png", 3, {}, rgb);
    d.decode(png.data(), png.size(), "x.png", 1, {}, gray);
    ASSERT_EQ(rgb.data.size(), 13u * 7 * 3);
    ASSERT_EQ(gray.data.size(), 13u * 7);
    const bool colour = src_channels >= 3;
    for (size_t i = 0; i < 13 * 7; ++i) {
      const uint8_t* s = src.data.data() + i * size_t(src_channels);  // alpha, if any, is last and dropped
      for (int c = 0; c < 3; ++c) ASSERT_EQ(rgb.data[i * 3 + size_t(c)], colour ? s[c] : s[0]) << src_channels;
      ASSERT_EQ(gray.data[i], colour ? kiln::image::luma(s[0], s[1], s[2]) : s[0]) << src_channels;
    }
  }
}

TEST(ImageDecode, LumaIsPilsWeights) {
  // PIL's L = R * 299/1000 + G * 587/1000 + B * 114/1000, rounded.
  for (int r = 0; r < 256; r += 15) {
    for (int g = 0; g < 256; g += 17) {
      for (int b = 0; b < 256; b += 51) {
        const double want = (r * 299 + g * 587 + b * 114) / 1000.0;
        // Rounded, with 16-bit weights: within half a level plus the weights' own rounding.
        EXPECT_LE(std::fabs(kiln::image::luma(uint8_t(r), uint8_t(g), uint8_t(b)) - want), 0.51);
      }
    }
  }
}

TEST(ImageDecode, JpegAtFullAndReducedScale) {
  Decoder d;
  Pixels src = pattern(100, 60, 3, 9);
  for (int y = 0; y < 60; ++y) {  // smooth, as photos mostly are: JPEG keeps it closely
    for (int x = 0; x < 100; ++x) {
      for (int c = 0; c < 3; ++c) src.data[size_t((y * 100 + x) * 3 + c)] = uint8_t(x * 2 + y + c * 40);
    }
  }
  const auto jpg = kiln_test::encode_jpeg(src, 95);
  Pixels full, half, gray;
  d.decode(jpg.data(), jpg.size(), "a.jpg", 3, {}, full);
  ASSERT_EQ(full.width, 100);
  ASSERT_EQ(full.height, 60);
  double err = 0;
  for (size_t i = 0; i < full.data.size(); ++i) err += std::fabs(double(full.data[i]) - src.data[i]);
  EXPECT_LT(err / double(full.data.size()), 3.0) << "quality 95 decodes close to the source";
  d.decode(jpg.data(), jpg.size(), "a.jpg", 3, Scale{3, 8}, half);
  EXPECT_EQ(half.width, (100 * 3 + 7) / 8);
  EXPECT_EQ(half.height, (60 * 3 + 7) / 8);
  d.decode(jpg.data(), jpg.size(), "a.jpg", 1, Scale{1, 2}, gray);
  EXPECT_EQ(gray.width, 50);
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.data.size(), 50u * 30);
}

// A region decode holds exactly the full decode's pixels over the region, whatever the chroma
// subsampling ("fancy" upsampling treats a cropped row's edges as the image's: the reader's
// column margin must absorb that), the scale or the region.
TEST(ImageDecode, JpegRegionEqualsTheFullDecodeThere) {
  Decoder d;
  uint32_t lcg = 12345;
  auto next = [&](int n) {
    lcg = lcg * 1664525u + 1013904223u;
    return int((lcg >> 8) % uint32_t(n));
  };
  int checked = 0;
  for (int samp : {444, 422, 440, 420, 0 /* gray */}) {
    for (bool progressive : {false, true}) {
      const Pixels src = pattern(157, 93, samp == 0 ? 1 : 3, uint32_t(samp + progressive));
      const auto jpg = kiln_test::encode_jpeg(src, 90, samp, progressive);
      for (Scale scale : {Scale{1, 1}, Scale{7, 8}, Scale{1, 2}, Scale{3, 8}, Scale{1, 4}}) {
        for (int channels : {1, 3}) {
          Pixels full, part;
          d.decode(jpg.data(), jpg.size(), "a.jpg", channels, scale, full);
          for (int k = 0; k < 6; ++k) {
            kiln::image::Rect r;
            r.x = next(full.width);
            r.y = next(full.height);
            r.width = 1 + next(full.width - r.x);
            r.height = 1 + next(full.height - r.y);
            d.decode(jpg.data(), jpg.size(), "a.jpg", channels, scale, part, r);
            ASSERT_EQ(part.full_width, full.width);
            ASSERT_EQ(part.full_height, full.height);
            ASSERT_LE(part.x, r.x);
            ASSERT_LE(part.y, r.y);
            ASSERT_GE(part.x + part.width, r.x + r.width);
            ASSERT_GE(part.y + part.height, r.y + r.height);
            EXPECT_LT(size_t(part.width) * part.height, size_t(full.width) * full.height + 1);
            int diff = 0;
            for (int y = r.y; y < r.y + r.height; ++y) {
              for (int x = r.x; x < r.x + r.width; ++x) {
                for (int c = 0; c < channels; ++c) {
                  diff += full.data[(size_t(y) * full.width + x) * channels + c] !=
                          part.data[(size_t(y - part.y) * part.width + (x - part.x)) * channels + c];
                }
              }
            }
            EXPECT_EQ(diff, 0) << "subsampling " << samp << (progressive ? " progressive" : "") << " scale "
                               << scale.num << "/" << scale.denom << " region " << r.x << "," << r.y << " " << r.width
                               << "x" << r.height;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 5 * 2 * 5 * 2 * 6);
}

TEST(ImageDecode, ChosenScaleIsTheSmallestPowerOfTwoThatKeepsTheRegionLargeEnough) {
  for (auto [w, h, need] : {std::tuple{1000.0, 800.0, 224},
                            {4000.0, 3000.0, 224},
                            {300.0, 250.0, 224},
                            {460.0, 400.0, 224},
                            {2000.0, 230.0, 224},
                            {100.0, 100.0, 224},
                            {1792.0, 1792.0, 224}}) {
    const Scale s = kiln::image::choose_scale(w, h, need, need);
    ASSERT_EQ(s.num, 1);
    ASSERT_TRUE(s.denom == 1 || s.denom == 2 || s.denom == 4 || s.denom == 8) << s.denom;
    if (s.denom > 1) EXPECT_TRUE(w / s.denom >= need && h / s.denom >= need) << w << "x" << h;
    for (int d = s.denom * 2; d <= 8; d *= 2) {
      EXPECT_FALSE(w / d >= need && h / d >= need) << "1/" << d << " also fits " << w << "x" << h;
    }
  }
  EXPECT_EQ(kiln::image::choose_scale(1792, 1792, 224, 224).denom, 8);
  EXPECT_EQ(kiln::image::choose_scale(460, 400, 224, 224).denom, 1) << "7/8 would fit, but is not SIMD";
  EXPECT_EQ(kiln::image::choose_scale(1000, 800, 224, 224).denom, 2);
}

TEST(ImageDecode, BadFilesAreUsageErrorsNamingTheFile) {
  const auto jpg = kiln_test::encode_jpeg(pattern(64, 64, 3, 1));
  const std::vector<uint8_t> truncated(jpg.begin(), jpg.begin() + long(jpg.size() / 2));
  EXPECT_NE(decode_error(truncated).find("dir/bad.jpg"), std::string::npos);
  // Cut short below a region that never reads there: still an error (no end-of-image marker).
  Decoder d;
  Pixels out;
  try {
    d.decode(truncated.data(), truncated.size(), "dir/cut.jpg", 3, {}, out, kiln::image::Rect{0, 0, 8, 2});
    ADD_FAILURE() << "a truncated JPEG decoded";
  } catch (const kiln::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dir/cut.jpg"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  // Bytes after the end-of-image marker are allowed, as libjpeg and PIL allow them.
  std::vector<uint8_t> trailing = jpg;
  trailing.insert(trailing.end(), {0, 0, 0, 0x12});
  d.decode(trailing.data(), trailing.size(), "dir/ok.jpg", 3, {}, out);
  EXPECT_EQ(out.width, 64);
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_NE(decode_error(text).find("not a JPEG or PNG"), std::string::npos);
  EXPECT_NE(decode_error({}).find("empty"), std::string::npos);
  auto png = kiln_test::encode_png(pattern(16, 16, 3, 2));
  png[png.size() / 2] ^= 0x5a;  // a flipped byte inside the image data: the CRC check fails
  EXPECT_NE(decode_error(png).find("dir/bad.jpg"), std::string::npos);
}

}  // namespace
