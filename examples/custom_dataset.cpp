// Example: plug a dataset of your own into kiln. "stripes" is generated in memory: 16x16
// images whose class (0..3) is the stripe direction (horizontal, vertical, two diagonals).
// It is registered under a name, selected through the config (data.dataset), and trained
// with kiln's own loop and the built-in mlp.
//   usage: example_custom_dataset [RUN_DIR]
#include <iostream>

#include "config/config.h"
#include "data/dataset.h"
#include "model/mlp.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

class Stripes : public kiln::data::ImageDataset {
 public:
  Stripes(int64_t n, uint64_t split_seed) : n_(n), seed_(split_seed) {}
  int64_t size() const override { return n_; }
  kiln::data::ImageShape shape() const override { return {1, 16, 16}; }
  int64_t num_classes() const override { return 4; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override {
    const int64_t label = index % 4;
    // The stripe offset and the pixel noise come from a hash of (split seed, index), so every
    // class shows up at every offset and no two samples are the same image.
    const uint64_t h = mix(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index));
    const int64_t phase = static_cast<int64_t>(h % 4);
    for (int64_t y = 0; y < 16; ++y) {
      for (int64_t x = 0; x < 16; ++x) {
        const int64_t t = label == 0 ? y : label == 1 ? x : label == 2 ? x + y : x - y + 16;
        const auto noise = static_cast<uint8_t>(mix(h + static_cast<uint64_t>(y * 16 + x)) % 64);
        pixels[y * 16 + x] = ((t + phase) % 4) < 2 ? static_cast<uint8_t>(191 + noise) : noise;
      }
    }
    return label;
  }

 private:
  // splitmix64's finaliser: a cheap, well-mixed 64-bit hash.
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  int64_t n_;
  uint64_t seed_;
};

}  // namespace

int main(int argc, char** argv) {
  kiln::data::register_dataset("stripes", [](const kiln::config::DataConfig&) {
    return kiln::data::Splits{std::make_shared<Stripes>(2000, 1), std::make_shared<Stripes>(400, 7)};
  });
  kiln::config::RunConfig cfg;
  cfg.data.dataset = "stripes";
  cfg.data.mean = {0.5};
  cfg.data.std = {0.5};
  cfg.model.name = "mlp";
  cfg.model.knobs<kiln::model::MlpKnobs>().hidden = {64};  // [model.mlp] hidden = [64]
  cfg.train.name = "custom_dataset";
  cfg.train.epochs = 3;
  cfg.log.progress = "off";
  kiln::train::TrainOptions opts;
  if (argc > 1) opts.run_dir = argv[1];
  try {
    const auto summary = kiln::train::run(cfg, opts);
    std::cout << summary.dump() << std::endl;
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  }
  return 0;
}
