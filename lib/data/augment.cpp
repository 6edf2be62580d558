// Random crop with zero padding, horizontal flip and table-driven normalisation, fused into
// one pass over the output pixels.
#include "data/augment.h"

#include <algorithm>

#include "repro/rng.h"

namespace kiln::data {
namespace {

constexpr uint64_t kAugmentStream = 2;  // Philox counter lane for augmentation (1 is the shuffle)

// Output pixel (y, x) of channel c reads source pixel (y + dy - p, fx + dx - p), where fx is x
// or W - 1 - x when flipped; outside the source it reads the padding value 0.
template <class Out, class Convert>
void apply(const uint8_t* src, const ImageShape& s, const AugmentOptions& a, const AugmentDraw& d, Out* out,
           Convert convert) {
  const int64_t H = s.height, W = s.width, p = a.crop_padding;
  for (int64_t c = 0; c < s.channels; ++c) {
    const uint8_t* plane = src + c * H * W;
    for (int64_t y = 0; y < H; ++y) {
      Out* row = out + (c * H + y) * W;
      const int64_t sy = y + d.dy - p;
      if (sy < 0 || sy >= H) {
        for (int64_t x = 0; x < W; ++x) row[x] = convert(c, 0);
        continue;
      }
      const uint8_t* srow = plane + sy * W;
      // Source column sx = (flip ? W - 1 - x : x) + k lies inside for x in [lo, hi); outside
      // it reads the padding. The inside needs no bounds check, so the loop stays tight.
      const int64_t k = d.dx - p;
      const int64_t lo = std::clamp<int64_t>(d.flip ? k : -k, 0, W),
                    hi = std::clamp<int64_t>(d.flip ? W + k : W - k, lo, W);
      for (int64_t x = 0; x < lo; ++x) row[x] = convert(c, 0);
      if (d.flip) {
        for (int64_t x = lo; x < hi; ++x) row[x] = convert(c, srow[W - 1 + k - x]);
      } else {
        for (int64_t x = lo; x < hi; ++x) row[x] = convert(c, srow[x + k]);
      }
      for (int64_t x = hi; x < W; ++x) row[x] = convert(c, 0);
    }
  }
}

}  // namespace

AugmentDraw draw_augment(const AugmentOptions& a, uint64_t seed, int64_t epoch, int64_t index) {
  AugmentDraw d;
  if (!a.enabled()) return d;
  const auto r = repro::philox4x32({static_cast<uint32_t>(index), static_cast<uint32_t>(uint64_t(index) >> 32),
                                    static_cast<uint32_t>(epoch), static_cast<uint32_t>(kAugmentStream)},
                                   {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  const uint64_t span = static_cast<uint64_t>(2 * a.crop_padding + 1);
  // One 32-bit word per choice: dy, dx, flip.
  d.dy = static_cast<int64_t>(repro::bounded(uint64_t(r[0]) << 32, span));
  d.dx = static_cast<int64_t>(repro::bounded(uint64_t(r[1]) << 32, span));
  d.flip = a.hflip && (r[2] & 1u);
  return d;
}

std::vector<float> normalize_lut(const std::vector<double>& mean, const std::vector<double>& std) {
  std::vector<float> lut(mean.size() * 256);
  for (size_t c = 0; c < mean.size(); ++c) {
    const float m = static_cast<float>(mean[c]), sd = static_cast<float>(std[c]);
    for (int v = 0; v < 256; ++v) lut[c * 256 + size_t(v)] = (static_cast<float>(v) / 255.0f - m) / sd;
  }
  return lut;
}

void augment_u8(const uint8_t* src, const ImageShape& s, const AugmentOptions& a, const AugmentDraw& d, uint8_t* out) {
  apply(src, s, a, d, out, [](int64_t, uint8_t v) { return v; });
}

void augment_f32(const uint8_t* src, const ImageShape& s, const AugmentOptions& a, const AugmentDraw& d,
                 const float* lut, float* out) {
  apply(src, s, a, d, out, [lut](int64_t c, uint8_t v) { return lut[c * 256 + v]; });
}

}  // namespace kiln::data
