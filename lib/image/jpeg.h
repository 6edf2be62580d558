// JPEG decoding of a region through libjpeg-turbo's libjpeg API: DCT-domain scaling, then
// only the rows and columns asked for (jpeg_skip_scanlines skips the IDCT and colour
// conversion of the rows above, the rows below are never read, jpeg_crop_scanline limits each
// row to the columns). The TurboJPEG API of Debian 12's libjpeg-turbo (2.1) has no partial
// decode (tj3SetCroppingRegion is 3.0); this is the same library and SIMD code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "image/decode.h"

namespace kiln::image {

class JpegReader {
 public:
  JpegReader();
  ~JpegReader();
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;

  // Decodes `region` (in scaled pixels; empty: all) of the image at `scale` to `channels`
  // (1 gray, 3 RGB) into `out`, which may hold a few columns more on either side (out.x,
  // out.y say where it starts). Every pixel of the region equals a full decode's. Returns ""
  // or what is wrong with the data (libjpeg warnings and a missing end-of-image marker count).
  std::string read(const uint8_t* data, size_t size, int channels, Scale scale, Rect region, Pixels& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kiln::image
