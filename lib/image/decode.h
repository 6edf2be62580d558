// JPEG and PNG decoding into 8-bit pixels, HWC row-major: JPEG through libjpeg-turbo (its
// TurboJPEG API for headers and scaling factors, its libjpeg API for the pixels: DCT-domain
// scaling, so a large photo decodes straight at 1/2, 1/4 or 1/8 of its size, and only the
// region a crop needs; see jpeg.h), PNG through libspng. A Decoder keeps its library handle and buffers, so
// a loader thread that owns one allocates nothing per image once its buffers have grown.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::image {

enum class Format { kUnknown, kJpeg, kPng };

// Larger images are refused rather than decoded: 2^15 on a side is well beyond any photo a
// loader should see and keeps a hostile header from asking for gigabytes.
constexpr int kMaxSide = 1 << 15;

// The format from the file's first bytes (not its extension).
Format sniff(const uint8_t* data, size_t size);

// What a file's header says: size in pixels and the channels it stores (1 gray, 2 gray +
// alpha, 3 colour, 4 colour + alpha).
struct Header {
  Format format = Format::kUnknown;
  int width = 0, height = 0, channels = 0;
};

// 8-bit pixels, HWC: data[(y * width + x) * channels + c], a width x height region whose
// first pixel is pixel (x, y) of the full_width x full_height decoded image (a whole image:
// x = y = 0, width = full_width).
struct Pixels {
  int width = 0, height = 0, channels = 0;
  int x = 0, y = 0, full_width = 0, full_height = 0;
  std::vector<uint8_t> data;  // capacity is kept across decodes
};

// A rectangle of pixels: [x, x + width) x [y, y + height).
struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
};

class JpegReader;

// A TurboJPEG scaling factor num/denom (1/8 .. 1 here: kiln only ever scales down).
struct Scale {
  int num = 1, denom = 1;
  int scaled(int dimension) const { return (dimension * num + denom - 1) / denom; }  // TJSCALED
};

// The smallest of the scaling factors 1/2, 1/4, 1/8 at which a region of `region_w` x
// `region_h` source pixels is still at least `need_w` x `need_h`: decoding smaller would mean
// upsampling later, decoding larger wastes time. 1/1 when none qualifies. libjpeg-turbo has
// SIMD IDCTs for these only; its other factors (7/8, 3/4, ...) run plain C and were slower
// than a full-size decode on the bench folder (docs/benchmarks.md, "Image folders").
Scale choose_scale(double region_w, double region_h, int need_w, int need_h);

class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // The header of an encoded image; throws kiln::Error::usage naming `name` when the bytes are
  // not a JPEG or PNG, or the header is corrupt or truncated.
  Header header(const uint8_t* data, size_t size, const std::string& name);

  // Decodes to `channels` (1: gray, luma for colour sources; 3: RGB, gray replicated; alpha
  // is dropped) at `scale` (JPEG only: PNGs decode at full size). `region` (in scaled pixels;
  // empty: the whole image) is what the caller needs: a JPEG decodes little more than that,
  // a PNG decodes whole. Corrupt or truncated data (libjpeg warnings included) is
  // kiln::Error::usage naming `name`.
  void decode(const uint8_t* data, size_t size, const std::string& name, int channels, Scale scale, Pixels& out,
              Rect region = {});

 private:
  void decode_png(const uint8_t* data, size_t size, const std::string& name, int channels, Pixels& out);
  void* tj_ = nullptr;  // tjhandle, for headers
  std::unique_ptr<JpegReader> jpeg_;
  std::vector<uint8_t> scratch_;  // a PNG's decoded RGB before its conversion to gray
};

// Gray from RGB as PIL's convert("L") computes it: (299 R + 587 G + 114 B) / 1000, rounded,
// in 16-bit fixed point.
inline uint8_t luma(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

}  // namespace kiln::image
