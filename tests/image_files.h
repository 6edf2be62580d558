// Test images: encoders for JPEG (TurboJPEG) and PNG (libspng), a deterministic pattern, and
// an image folder writer for the loader and end-to-end tests.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "image/decode.h"

namespace kiln_test {

// A smooth pattern plus per-pixel noise, channels 1..4 (HWC), the same for the same seed.
kiln::image::Pixels pattern(int width, int height, int channels, uint32_t seed);

// 1 or 3 channels; chroma subsampling 444, 422, 440 or 420 (colour only); progressive or not.
std::vector<uint8_t> encode_jpeg(const kiln::image::Pixels& p, int quality = 90, int subsampling = 420,
                                 bool progressive = false);
std::vector<uint8_t> encode_png(const kiln::image::Pixels& p);  // 1 to 4 channels

void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes);

// Writes <dir>/<split>/<class>/<n>.<ext> for each split, class and n < per_class, with
// images of a colour per class (so a model can learn them) and the given size.
void write_image_folder(const std::filesystem::path& dir, const std::vector<std::string>& splits,
                        const std::vector<std::string>& classes, int per_class, int width, int height,
                        const std::string& ext = "png");

}  // namespace kiln_test
