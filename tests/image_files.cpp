// Test image writers (see image_files.h).
#include "image_files.h"

#include <spng.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace kiln_test {

kiln::image::Pixels pattern(int width, int height, int channels, uint32_t seed) {
  kiln::image::Pixels p;
  p.width = width;
  p.height = height;
  p.channels = channels;
  p.data.resize(size_t(width) * height * channels);
  uint32_t s = seed * 2654435761u + 1;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        s = s * 1664525u + 1013904223u;
        const int smooth = (x * 255 / std::max(1, width - 1) + y * 128 / std::max(1, height - 1) + c * 60) % 256;
        p.data[(size_t(y) * width + x) * channels + c] = uint8_t((smooth * 3 + int(s >> 24)) / 4);
      }
    }
  }
  return p;
}

std::vector<uint8_t> encode_jpeg(const kiln::image::Pixels& p, int quality, int subsampling, bool progressive) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const bool gray = p.channels == 1;
  const int samp = gray                 ? TJSAMP_GRAY
                   : subsampling == 444 ? TJSAMP_444
                   : subsampling == 422 ? TJSAMP_422
                   : subsampling == 440 ? TJSAMP_440
                                        : TJSAMP_420;
  const int rc = tjCompress2(tj, p.data.data(), p.width, 0, p.height, gray ? TJPF_GRAY : TJPF_RGB, &buf, &size, samp,
                             quality, progressive ? TJFLAG_PROGRESSIVE : 0);
  std::vector<uint8_t> out(buf, buf + (rc == 0 ? size : 0));
  tjFree(buf);
  tjDestroy(tj);
  if (rc != 0) throw std::runtime_error("tjCompress2 failed");
  return out;
}

std::vector<uint8_t> encode_png(const kiln::image::Pixels& p) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = uint32_t(p.width);
  ihdr.height = uint32_t(p.height);
  ihdr.bit_depth = 8;
  const uint8_t types[] = {0, SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, SPNG_COLOR_TYPE_TRUECOLOR,
                           SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
  ihdr.color_type = types[p.channels];
  spng_set_ihdr(ctx, &ihdr);
  int err = spng_encode_image(ctx, p.data.data(), p.data.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  size_t len = 0;
  void* buf = err ? nullptr : spng_get_png_buffer(ctx, &len, &err);
  spng_ctx_free(ctx);
  if (err || !buf) throw std::runtime_error(std::string("spng encode: ") + spng_strerror(err));
  std::vector<uint8_t> out(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
  std::free(buf);
  return out;
}

void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_image_folder(const std::filesystem::path& dir, const std::vector<std::string>& splits,
                        const std::vector<std::string>& classes, int per_class, int width, int height,
                        const std::string& ext) {
  uint32_t seed = 1;
  for (const auto& split : splits) {
    for (size_t c = 0; c < classes.size(); ++c) {
      for (int n = 0; n < per_class; ++n) {
        kiln::image::Pixels p = pattern(width, height, 3, seed++);
        for (size_t i = 0; i < p.data.size(); i += 3) p.data[i + c % 3] = uint8_t(200 + (p.data[i + c % 3] % 56));
        const auto bytes = ext == "png" ? encode_png(p) : encode_jpeg(p);
        write_bytes(dir / split / classes[c] / (std::to_string(n) + "." + ext), bytes);
      }
    }
  }
}

}  // namespace kiln_test
