// Tests of lib/image/resample and crop: identity and constant images, the filter against its
// formula in double precision, the crop boxes against torchvision's rules, and the output
// against real Pillow and torchvision (tests/interop/pil_resize.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "image/crop.h"
#include "image/resample.h"
#include "image_files.h"
#include "optuna/optuna_reference.h"

namespace {

using kiln::image::Box;
using kiln::image::Pixels;

std::vector<uint8_t> resample(const Pixels& src, Box box, int w, int h, kiln::image::View view = {}) {
  std::vector<uint8_t> out(size_t(w) * h * src.channels);
  if (view.width == 0) view = {0, 0, src.width, src.height};
  kiln::image::Resampler r;
  r.run(src, view, box, w, h, out.data());
  return out;
}

// The same resampling in double precision, without fixed point or the rounding between the
// passes: for output (x, y), the triangle filter widened by the scale, normalised per axis.
double reference(const Pixels& src, Box b, int w, int h, int x, int y, int c) {
  auto weights = [](double in0, double in1, int size, int out, int o) {
    const double scale = (in1 - in0) / out, fs = std::max(scale, 1.0), center = in0 + (o + 0.5) * scale;
    std::vector<double> wt(size_t(size), 0.0);
    double sum = 0;
    for (int i = 0; i < size; ++i) {
      const double d = std::fabs((i + 0.5 - center) / fs);
      sum += wt[size_t(i)] = d < 1 ? 1 - d : 0;
    }
    for (double& v : wt) v /= sum;
    return wt;
  };
  const auto wx = weights(b.x0, b.x1, src.width, w, x), wy = weights(b.y0, b.y1, src.height, h, y);
  double acc = 0;
  for (int j = 0; j < src.height; ++j) {
    for (int i = 0; i < src.width; ++i) {
      acc += wx[size_t(i)] * wy[size_t(j)] * src.data[(size_t(j) * src.width + i) * src.channels + c];
    }
  }
  return acc;
}

TEST(ImageResample, WholeImageAtItsOwnSizeIsUnchanged) {
  const Pixels p = kiln_test::pattern(31, 17, 3, 4);
  const auto out = resample(p, {0, 0, 31, 17}, 31, 17);
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 31 * 17; ++i) ASSERT_EQ(out[size_t(c * 31 * 17 + i)], p.data[size_t(i * 3 + c)]);
  }
}

TEST(ImageResample, ConstantImageStaysConstant) {
  Pixels p = kiln_test::pattern(40, 30, 1, 1);
  std::fill(p.data.begin(), p.data.end(), uint8_t(173));
  for (Box b : {Box{0, 0, 40, 30}, Box{3.5, 2.25, 39.0, 20.0}, Box{10, 10, 12, 11}}) {
    for (int s : {1, 7, 64}) {
      for (uint8_t v : resample(p, b, s, s + 3)) ASSERT_EQ(v, 173);
    }
  }
}

TEST(ImageResample, WithinOneOfTheFilterFormula) {
  const Pixels p = kiln_test::pattern(60, 45, 2, 8);
  for (auto [b, w, h] : {std::tuple{Box{0, 0, 60, 45}, 17, 13},
                         {Box{5.5, 3.0, 50.0, 40.5}, 23, 9},
                         {Box{10, 10, 20, 18}, 40, 33},
                         {Box{0, 0, 60, 45}, 60, 45}}) {
    const auto out = resample(p, b, w, h);
    for (int c = 0; c < 2; ++c) {
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const double want = reference(p, b, w, h, x, y, c);
          ASSERT_LE(std::fabs(out[size_t((c * h + y) * w + x)] - want), 1.0)
              << x << "," << y << " of " << w << "x" << h;
        }
      }
    }
  }
}

TEST(ImageCrop, RandomResizedCropFollowsTorchvisionsRule) {
  const kiln::image::RandomCropRange r;  // scale [0.08, 1], ratio [3/4, 4/3]
  // All uniforms 0.5: area 0.54 of 200x100, aspect exp(0) = 1: w = h = round(sqrt(10800)) = 104,
  // which does not fit the height 100; so every attempt fails the same way and the fallback
  // (ratio 2 > 4/3: h = 100, w = round(100 * 4/3) = 133, centred) is the answer.
  Box b = kiln::image::random_resized_crop(200, 100, r, [](int) { return 0.5; });
  EXPECT_EQ(b.x0, (200 - 133) / 2);
  EXPECT_EQ(b.width(), 133);
  EXPECT_EQ(b.y0, 0);
  EXPECT_EQ(b.height(), 100);
  // Uniforms 0.25: area 200 * 200 * (0.08 + 0.92 * 0.25) = 12400, aspect exp(log(3/4) + 0.25 *
  // log(16/9)); top/left from the third and fourth numbers.
  b = kiln::image::random_resized_crop(200, 200, r, [](int) { return 0.25; });
  const double aspect = std::exp(std::log(0.75) + 0.25 * std::log(16.0 / 9.0));
  const int w = int(std::nearbyint(std::sqrt(12400 * aspect))), h = int(std::nearbyint(std::sqrt(12400 / aspect)));
  EXPECT_EQ(b.width(), w);
  EXPECT_EQ(b.height(), h);
  EXPECT_EQ(b.y0, int(0.25 * (200 - h + 1)));
  EXPECT_EQ(b.x0, int(0.25 * (200 - w + 1)));
  // A tall image below the ratio range: the fallback keeps the width.
  b = kiln::image::random_resized_crop(50, 400, {1.0, 1.0, 1.0, 1.0}, [](int) { return 0.9; });
  EXPECT_EQ(b.width(), 50);
  EXPECT_EQ(b.height(), 50);
  EXPECT_EQ(b.y0, 175);
}

TEST(ImageCrop, ResizeCenterCropMapsTorchvisionsCropBack) {
  // 500x375 -> Resize(256) = 341x256 (int(256 * 500 / 375)); CenterCrop(224): top
  // round(16.0) = 16, left round(58.5) = 58 (half to even).
  const Box b = kiln::image::resize_center_crop(500, 375, 256, 224);
  const double sx = 500.0 / 341, sy = 375.0 / 256;
  EXPECT_DOUBLE_EQ(b.x0, 58 * sx);
  EXPECT_DOUBLE_EQ(b.y0, 16 * sy);
  EXPECT_DOUBLE_EQ(b.x1, (58 + 224) * sx);
  EXPECT_DOUBLE_EQ(b.y1, (16 + 224) * sy);
}

// The rectangle plan() returns is all execute() reads: a source holding only that rectangle
// (as a region decode leaves it) gives the same bytes as the whole image, for crops that
// resize down and up, with and without a view. Cutting the rectangle one pixel short on any
// side changes the output, so it is also no larger than the filter needs.
TEST(ImageResample, PlannedRectangleIsExactlyWhatTheFilterReads) {
  const Pixels p = kiln_test::pattern(120, 90, 3, 21);
  struct Case {
    Box box;
    int w, h;
    kiln::image::View view;
  };
  const std::vector<Case> cases = {{{10.5, 7.25, 90.0, 70.5}, 32, 24, {0, 0, 120, 90}},
                                   {{3, 5, 23, 15}, 64, 40, {0, 0, 120, 90}},
                                   {{0, 0, 50, 40}, 20, 20, {33, 21, 50, 40}},
                                   {{30.2, 20.7, 31.9, 22.1}, 5, 5, {0, 0, 120, 90}}};
  for (const Case& c : cases) {
    kiln::image::Resampler r;
    const kiln::image::Rect need = r.plan(c.view, c.box, c.w, c.h);
    std::vector<uint8_t> whole(size_t(c.w) * c.h * 3);
    r.execute(p, whole.data());
    auto cut = [&](kiln::image::Rect rect) {
      Pixels part;
      part.x = rect.x;
      part.y = rect.y;
      part.width = rect.width;
      part.height = rect.height;
      part.channels = 3;
      part.data.resize(size_t(rect.width) * rect.height * 3);
      for (int y = 0; y < rect.height; ++y) {
        for (int x = 0; x < rect.width * 3; ++x) {
          part.data[size_t(y) * rect.width * 3 + x] = p.data[size_t(y + rect.y) * p.width * 3 + rect.x * 3 + x];
        }
      }
      std::vector<uint8_t> out(whole.size());
      r.execute(part, out.data());
      return out;
    };
    EXPECT_EQ(cut(need), whole) << "box " << c.box.x0 << "," << c.box.y0;
    // Shrunk on one side (the missing pixels read as zero: a smaller buffer padded with 0).
    for (int side = 0; side < 4; ++side) {
      kiln::image::Rect less = need;
      if (side == 0) ++less.x;
      if (side < 2) --less.width;
      if (side == 2) ++less.y;
      if (side >= 2) --less.height;
      Pixels padded = p;
      for (int y = 0; y < p.height; ++y) {
        for (int x = 0; x < p.width; ++x) {
          const bool inside = x >= less.x && x < less.x + less.width && y >= less.y && y < less.y + less.height;
          if (!inside) std::fill_n(padded.data.begin() + (long(y) * p.width + x) * 3, 3, uint8_t(0));
        }
      }
      std::vector<uint8_t> out(whole.size());
      r.execute(padded, out.data());
      EXPECT_NE(out, whole) << "side " << side << " of box " << c.box.x0 << "," << c.box.y0 << " is needed";
    }
  }
}

// Real Pillow and torchvision resize the same PNG; kiln must give the same bytes.
TEST(ImageResample, SameBytesAsPillowAndTorchvision) {
  const std::string py = KILN_TEST_PYTHON;
  if (py.empty()) GTEST_SKIP() << "KILN_TEST_PYTHON is not set";
  kiln_test::TempDir tmp("pil");
  const Pixels p = kiln_test::pattern(200, 130, 3, 12);
  kiln_test::write_bytes(tmp / "in.png", kiln_test::encode_png(p));
  const auto r = kiln_test::run({py, std::string(KILN_SOURCE_DIR) + "/tests/interop/pil_resize.py",
                                 (tmp / "in.png").string(), tmp.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  struct Case {
    std::string name;
    Box box;
    int w, h;
    kiln::image::View view = {};  // empty: the whole image
  };
  const std::vector<Case> cases = {
      {"box_down", {10, 7, 180, 121}, 56, 40},
      {"box_up", {3, 5, 103, 95}, 300, 260},
      {"whole", {0, 0, 200, 130}, 97, 61},
      {"crop_resize", {0, 0, 150, 100}, 64, 64, {17, 9, 150, 100}},  // Pillow sees only the crop
      {"resize_center", kiln::image::resize_center_crop(200, 130, 72, 64), 64, 64},
  };
  for (const Case& c : cases) {
    std::ifstream f(tmp / (c.name + ".raw"), std::ios::binary);
    const std::vector<uint8_t> want((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_EQ(want.size(), size_t(c.w) * c.h * 3) << c.name;
    const auto got = resample(p, c.box, c.w, c.h, c.view);
    int max_diff = 0;
    for (int ch = 0; ch < 3; ++ch) {
      for (int i = 0; i < c.w * c.h; ++i) {
        max_diff = std::max(max_diff, std::abs(int(got[size_t(ch * c.w * c.h + i)]) - int(want[size_t(i * 3 + ch)])));
      }
    }
    EXPECT_EQ(max_diff, 0) << c.name << ": largest difference from Pillow";
  }
}

}  // namespace
