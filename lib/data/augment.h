// Per-sample augmentation and normalisation of uint8 images (C x H x W, row-major). Every
// random number comes from Philox keyed on (seed, epoch, sample index), so a sample's
// augmentation never depends on which thread builds it, or when.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace kiln::data {

struct AugmentOptions {
  int64_t crop_padding = 0;  // random crop of the image zero-padded by this many pixels per side (0 = off)
  bool hflip = false;        // horizontal flip with probability 1/2
  bool enabled() const { return crop_padding > 0 || hflip; }
};

// The random choices for one sample: crop offsets in [0, 2 * padding] and the flip.
struct AugmentDraw {
  int64_t dy = 0, dx = 0;
  bool flip = false;
};
AugmentDraw draw_augment(const AugmentOptions& a, uint64_t seed, int64_t epoch, int64_t index);

// Normalisation as a lookup table per channel: lut[c * 256 + v] = (v / 255 - mean[c]) / std[c]
// in float32. The GPU path normalises with the same table, so both give identical bits.
std::vector<float> normalize_lut(const std::vector<double>& mean, const std::vector<double>& std);

// Applies `d` to `src` (shape s) and writes the result to `out` as uint8 (the GPU normalises).
void augment_u8(const uint8_t* src, const ImageShape& s, const AugmentOptions& a, const AugmentDraw& d, uint8_t* out);

// Applies `d` to `src` and normalises through `lut` into float32 `out`, in one pass. Padding
// pixels are value 0 before normalisation (as in torchvision's RandomCrop(padding=p)).
void augment_f32(const uint8_t* src, const ImageShape& s, const AugmentOptions& a, const AugmentDraw& d,
                 const float* lut, float* out);

}  // namespace kiln::data
