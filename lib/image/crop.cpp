// Crop boxes; see crop.h.
#include "image/crop.h"

#include <algorithm>
#include <cmath>

namespace kiln::image {
namespace {

// Python's round(): to nearest, ties to even (the default floating-point rounding mode).
int py_round(double v) { return int(std::nearbyint(v)); }

Box pixels(int left, int top, int w, int h) { return {double(left), double(top), double(left + w), double(top + h)}; }

}  // namespace

Box random_resized_crop(int width, int height, const RandomCropRange& r, const std::function<double(int)>& uniform) {
  const double area = double(width) * height;
  const double log_lo = std::log(r.ratio_lo), log_hi = std::log(r.ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int k = attempt * 4;  // four numbers per attempt: area, aspect, top, left
    const double target = area * (r.scale_lo + (r.scale_hi - r.scale_lo) * uniform(k));
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * uniform(k + 1));
    const int w = py_round(std::sqrt(target * aspect));
    const int h = py_round(std::sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = std::min(int(uniform(k + 2) * (height - h + 1)), height - h);
      const int left = std::min(int(uniform(k + 3) * (width - w + 1)), width - w);
      return pixels(left, top, w, h);
    }
  }
  const double in_ratio = double(width) / height;
  int w = width, h = height;
  if (in_ratio < r.ratio_lo) {
    h = std::max(1, py_round(w / r.ratio_lo));
  } else if (in_ratio > r.ratio_hi) {
    w = std::max(1, py_round(h * r.ratio_hi));
  }
  return pixels((width - w) / 2, (height - h) / 2, w, h);
}

Box resize_center_crop(int width, int height, int resize, int size) {
  const bool wide = width >= height;
  const int short_side = wide ? height : width, long_side = wide ? width : height;
  const int new_long = int(double(resize) * long_side / short_side);
  const int new_w = wide ? new_long : resize, new_h = wide ? resize : new_long;
  const int top = py_round((new_h - size) / 2.0), left = py_round((new_w - size) / 2.0);
  const double sx = double(width) / new_w, sy = double(height) / new_h;
  return {left * sx, top * sy, (left + size) * sx, (top + size) * sy};
}

}  // namespace kiln::image
