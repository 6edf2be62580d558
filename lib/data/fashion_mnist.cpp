// Fashion-MNIST loading: find the four IDX files, read and cross-check them.
#include "data/fashion_mnist.h"

#include <cstring>

#include "data/idx.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/user_path.h"

namespace kiln::data {
namespace fs = std::filesystem;

IdxDataset::IdxDataset(const fs::path& images, const fs::path& labels, int64_t num_classes)
    : num_classes_(num_classes) {
  IdxArray img = read_idx(images, 3);
  IdxArray lab = read_idx(labels, 1);
  if (img.dims[0] != lab.dims[0]) {
    throw Error::usage(images.string() + " has " + std::to_string(img.dims[0]) + " images but " + labels.string() +
                       " has " + std::to_string(lab.dims[0]) + " labels");
  }
  for (size_t i = 0; i < lab.data.size(); ++i) {
    if (lab.data[i] >= num_classes) {
      throw Error::usage(labels.string() + ": label " + std::to_string(lab.data[i]) + " of sample " +
                         std::to_string(i) + " is out of range (expected 0.." + std::to_string(num_classes - 1) + ")");
    }
  }
  size_ = img.dims[0];
  shape_ = ImageShape{1, img.dims[1], img.dims[2]};
  pixels_ = std::move(img.data);
  labels_ = std::move(lab.data);
  // Fingerprint of the decoded content: the same data gives the same print, gzipped or not.
  util::Sha256 h;
  h.update(pixels_.data(), pixels_.size());
  h.update(labels_.data(), labels_.size());
  fingerprint_ = h.hex_digest().substr(0, 16);
}

int64_t IdxDataset::read_image(int64_t index, uint8_t* pixels) const {
  const int64_t n = shape_.numel();
  std::memcpy(pixels, pixels_.data() + index * n, static_cast<size_t>(n));
  return labels_[static_cast<size_t>(index)];
}

namespace {

fs::path find_file(const fs::path& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"}) {
    std::error_code ec;
    if (fs::exists(dir / name, ec)) return dir / name;
  }
  throw Error::usage(
      "Fashion-MNIST file " + stem + "[.gz] not found in " + dir.string() + " (data.dir)",
      "install it with `apt-get install dataset-fashion-mnist` (tools/bootstrap.sh does) or set data.dir");
}

}  // namespace

Splits load_fashion_mnist(const fs::path& dir) {
  // Before any std::filesystem call: an over-long path would throw filesystem_error (exit 1).
  util::check_user_path(dir, "data.dir");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error::usage("data directory " + dir.string() + " does not exist (data.dir)",
                       "install Fashion-MNIST with tools/bootstrap.sh or point data.dir at the IDX files");
  }
  Splits s;
  s.train = std::make_shared<IdxDataset>(find_file(dir, "train-images-idx3-ubyte"),
                                         find_file(dir, "train-labels-idx1-ubyte"), 10);
  s.test = std::make_shared<IdxDataset>(find_file(dir, "t10k-images-idx3-ubyte"),
                                        find_file(dir, "t10k-labels-idx1-ubyte"), 10);
  if (s.train->spec().input.shape != s.test->spec().input.shape) {
    throw Error::usage("train and test images in " + dir.string() + " differ in size");
  }
  return s;
}

}  // namespace kiln::data
