// JPEG (libjpeg-turbo) and PNG (libspng) decoding; see decode.h.
#include "image/decode.h"

#include <spng.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "image/jpeg.h"
#include "util/error.h"

namespace kiln::image {
namespace {

Error bad_image(const std::string& name, const std::string& why) {
  return Error::usage("image " + name + " cannot be decoded: " + why,
                      "replace or remove the file, or set data.on_bad_image = \"skip\"");
}

struct SpngFree {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using SpngCtx = std::unique_ptr<spng_ctx, SpngFree>;

// A context reading `data`, its header checked; throws bad_image.
SpngCtx open_png(const uint8_t* data, size_t size, const std::string& name, spng_ihdr& ihdr) {
  SpngCtx ctx(spng_ctx_new(0));
  if (!ctx) throw Error::runtime("libspng could not allocate a decoder");
  spng_set_image_limits(ctx.get(), kMaxSide, kMaxSide);
  int err = spng_set_png_buffer(ctx.get(), data, size);
  if (!err) err = spng_get_ihdr(ctx.get(), &ihdr);
  if (err) throw bad_image(name, std::string("PNG: ") + spng_strerror(err));
  return ctx;
}

int png_channels(const spng_ihdr& h) {
  switch (h.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
      return 1;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
      return 2;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      return 4;
    default:
      return 3;  // truecolor, indexed
  }
}

std::string tj_error(void* tj) { return std::string("JPEG: ") + tjGetErrorStr2(static_cast<tjhandle>(tj)); }

}  // namespace

Format sniff(const uint8_t* d, size_t n) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return Format::kJpeg;
  if (n >= 8 && std::memcmp(d, kPng, 8) == 0) return Format::kPng;
  return Format::kUnknown;
}

Scale choose_scale(double region_w, double region_h, int need_w, int need_h) {
  int count = 0;
  const tjscalingfactor* f = tjGetScalingFactors(&count);
  Scale best;
  double best_value = 1.0;
  for (int i = 0; i < count; ++i) {
    const double s = double(f[i].num) / f[i].denom;
    const bool simd = f[i].num == 1 && (f[i].denom == 2 || f[i].denom == 4 || f[i].denom == 8);
    if (!simd || s > best_value) continue;
    if (region_w * s >= need_w && region_h * s >= need_h) {
      best = {f[i].num, f[i].denom};
      best_value = s;
    }
  }
  return best;
}

Decoder::Decoder() : tj_(tjInitDecompress()), jpeg_(std::make_unique<JpegReader>()) {
  if (!tj_) throw Error::runtime("TurboJPEG could not create a decompressor: " + std::string(tjGetErrorStr2(nullptr)));
}

Decoder::~Decoder() { tjDestroy(static_cast<tjhandle>(tj_)); }

Header Decoder::header(const uint8_t* data, size_t size, const std::string& name) {
  Header h;
  h.format = sniff(data, size);
  if (h.format == Format::kJpeg) {
    int subsamp = 0, colorspace = 0;
    if (tjDecompressHeader3(static_cast<tjhandle>(tj_), data, static_cast<unsigned long>(size), &h.width, &h.height,
                            &subsamp, &colorspace) != 0) {
      throw bad_image(name, tj_error(tj_));
    }
    h.channels = colorspace == TJCS_GRAY ? 1 : (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) ? 4 : 3;
  } else if (h.format == Format::kPng) {
    spng_ihdr ihdr{};
    open_png(data, size, name, ihdr);
    h.width = int(ihdr.width);
    h.height = int(ihdr.height);
    h.channels = png_channels(ihdr);
  } else {
    throw bad_image(name, size == 0 ? "the file is empty" : "not a JPEG or PNG file (by its first bytes)");
  }
  if (h.width < 1 || h.height < 1 || h.width > kMaxSide || h.height > kMaxSide) {
    throw bad_image(name, "its header says " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                              " pixels (1 to " + std::to_string(kMaxSide) + " on a side are accepted)");
  }
  return h;
}

void Decoder::decode(const uint8_t* data, size_t size, const std::string& name, int channels, Scale scale, Pixels& out,
                     Rect region) {
  if (channels != 1 && channels != 3)
    throw Error::usage("images decode to 1 or 3 channels, not " + std::to_string(channels));
  switch (sniff(data, size)) {
    case Format::kJpeg: {
      const std::string error = jpeg_->read(data, size, channels, scale, region, out);
      if (!error.empty()) throw bad_image(name, error);
      return;
    }
    case Format::kPng:
      return decode_png(data, size, name, channels, out);
    default:
      header(data, size, name);  // throws the message for a non-image
  }
}

void Decoder::decode_png(const uint8_t* data, size_t size, const std::string& name, int channels, Pixels& out) {
  spng_ihdr ihdr{};
  SpngCtx ctx = open_png(data, size, name, ihdr);
  out.width = out.full_width = int(ihdr.width);
  out.height = out.full_height = int(ihdr.height);
  out.x = out.y = 0;
  out.channels = channels;
  // Plain 8-bit gray decodes as it is; everything else goes through RGB (palette expanded,
  // 16 bits reduced, alpha dropped), then to gray if asked.
  const bool gray8 = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth == 8;
  const int fmt = channels == 1 && gray8 ? SPNG_FMT_G8 : SPNG_FMT_RGB8;
  std::vector<uint8_t>& target = (channels == 1 && !gray8) ? scratch_ : out.data;
  size_t len = 0;
  int err = spng_decoded_image_size(ctx.get(), fmt, &len);
  if (!err) {
    target.resize(len);
    err = spng_decode_image(ctx.get(), target.data(), len, fmt, 0);
  }
  if (err) throw bad_image(name, std::string("PNG: ") + spng_strerror(err));
  if (&target == &scratch_) {
    const size_t n = size_t(out.width) * out.height;
    out.data.resize(n);
    for (size_t i = 0; i < n; ++i) out.data[i] = luma(scratch_[3 * i], scratch_[3 * i + 1], scratch_[3 * i + 2]);
  }
}

}  // namespace kiln::image
