// Where an image's training and evaluation crops lie, as torchvision computes them:
// RandomResizedCrop.get_params for training, Resize(shorter side) + CenterCrop for
// evaluation. The result is a Box in source pixels, which Resampler turns into the output in
// one pass (a resize followed by a crop is the same resampling of the box).
#pragma once
#include <functional>

#include "image/resample.h"

namespace kiln::image {

struct RandomCropRange {
  double scale_lo = 0.08, scale_hi = 1.0;             // share of the image's area
  double ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;  // width / height
};

// uniform(k): the k-th uniform number in [0, 1) of this sample's stream. Ten attempts at a
// crop of random area and log-uniform aspect that fits; then the largest centred crop
// within the ratio range. Rounding is Python's (half to even).
Box random_resized_crop(int width, int height, const RandomCropRange& r, const std::function<double(int)>& uniform);

// The shorter side resized to `resize` (the longer to floor(resize * long / short)), then a
// centred `size` x `size` crop, mapped back to source pixels. resize >= size.
Box resize_center_crop(int width, int height, int resize, int size);

}  // namespace kiln::image
