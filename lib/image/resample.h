// Bilinear resampling with antialiasing, as Pillow's Image.resize(..., BILINEAR, box) does it
// (the algorithm torchvision's transforms run on PIL images): the triangle filter is widened
// by the downscale factor so every source pixel under an output pixel counts, the weights
// are 22-bit fixed point, and the horizontal pass (rounded to uint8) runs before the
// vertical one. Written from that description, not from Pillow's code; docs/data.md has the
// measured difference against Pillow.
#pragma once
#include <cstdint>
#include <vector>

#include "image/decode.h"

namespace kiln::image {

// A region of the source in pixel coordinates: [x0, x1) x [y0, y1), fractional edges allowed.
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
};

// One axis's filter: for each output pixel, the first source pixel and its weights.
struct Taps {
  int ksize = 0;               // weights per output pixel (the widest window)
  std::vector<int> first;      // [out] first source index
  std::vector<int> count;      // [out] source pixels used
  std::vector<int32_t> coeff;  // [out * ksize] fixed-point weights (sum 2^22)
  std::vector<double> real;    // scratch: one output pixel's weights before normalising
};
// Computes the taps that resample source [in0, in1) of an axis of `in_size` pixels to
// `out_size` pixels (in0, in1 inside [0, in_size]).
void compute_taps(double in0, double in1, int in_size, int out_size, Taps& t);

// The pixels the filter may read: torchvision's crop before its resize. A crop-then-resize
// (RandomResizedCrop) sees nothing outside the crop, while a resize-then-crop (evaluation)
// filters across the crop's edges with the whole image as its view.
struct View {
  int x = 0, y = 0, width = 0, height = 0;
};

// Resamples `box` (in `view` coordinates) of `src` (HWC) to out_w x out_h and writes it CHW
// (planar) to `out` (src.channels * out_h * out_w bytes). Keeps its buffers: no allocation
// once grown.
class Resampler {
 public:
  // Computes the filters and returns the source pixels they read, in the image's coordinates:
  // a source holding just that rectangle is enough for execute().
  Rect plan(const View& view, const Box& box, int out_w, int out_h);
  // Resamples with the last plan; `src` must hold its rectangle (src.x, src.y: where it lies).
  void execute(const Pixels& src, uint8_t* out);

  void run(const Pixels& src, const View& view, const Box& box, int out_w, int out_h, uint8_t* out) {
    plan(view, box, out_w, out_h);
    execute(src, out);
  }
  // The whole image as the view (Pillow's resize with a box).
  void run(const Pixels& src, const Box& box, int out_w, int out_h, uint8_t* out) {
    run(src, View{0, 0, src.width, src.height}, box, out_w, out_h, out);
  }

 private:
  Taps h_, v_;
  View view_;
  int out_w_ = 0, out_h_ = 0;
  std::vector<uint8_t> rows_;  // the horizontal pass: the rows the vertical pass reads, HWC
  std::vector<int32_t> acc_;   // the vertical pass: one output row's sums, HWC
};

}  // namespace kiln::image
