// Fashion-MNIST (and MNIST, same layout): 28x28 uint8 greyscale, 10 classes, read from
// train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-* in one directory.
#pragma once
#include <filesystem>

#include "data/dataset.h"

namespace kiln::data {

// An in-memory IDX image/label pair, validated (counts agree, labels < num_classes).
class IdxDataset : public ImageDataset {
 public:
  IdxDataset(const std::filesystem::path& images, const std::filesystem::path& labels, int64_t num_classes);
  int64_t size() const override { return size_; }
  ImageShape shape() const override { return shape_; }
  int64_t num_classes() const override { return num_classes_; }
  int64_t read_image(int64_t index, uint8_t* pixels) const override;
  std::string fingerprint() const override { return fingerprint_; }

 private:
  ImageShape shape_;
  int64_t size_ = 0, num_classes_ = 0;
  std::vector<uint8_t> pixels_, labels_;
  std::string fingerprint_;
};

Splits load_fashion_mnist(const std::filesystem::path& dir);

}  // namespace kiln::data
