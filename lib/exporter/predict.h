// kiln predict: an exported TorchScript model (kiln export --format torchscript) run on
// image files: each is decoded (JPEG/PNG, image/), resized and centre-cropped to the model's
// input as kiln's evaluation transform does (the shorter side to the recorded resize, Pillow's
// antialiased bilinear filter; JPEGs at full scale, not DCT-scaled) and handed to the
// module as uint8, which normalises it itself. Class names come from the archive's kiln.json.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::exporter {

struct PredictOptions {
  std::filesystem::path model;
  std::vector<std::filesystem::path> inputs;  // image files, or folders searched for *.png, *.jpg, *.jpeg
  int64_t top = 5;
  int64_t batch = 64;  // images per forward
};

struct ClassScore {
  int64_t index = 0;
  std::string name;  // the class name, or its index as text where the model has none
  double probability = 0;
};

struct Prediction {
  std::filesystem::path file;
  std::vector<ClassScore> top;  // likeliest first
  std::vector<float> logits;    // the model's whole output row
};

// Error::usage naming the file for a model that is not an exported kiln classifier of
// images, an input that does not exist, a folder without images or an unreadable image.
std::vector<Prediction> predict(const PredictOptions& opts);

}  // namespace kiln::exporter
