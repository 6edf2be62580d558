// data.dataset = "image-folder": JPEG/PNG files in torchvision's ImageFolder layout, decoded
// and cropped in the loader's threads. Training samples are a RandomResizedCrop of
// data.image_size (drawn from Philox keyed on seed, epoch and index; the loader's
// augment.hflip flips after it, as torchvision's order has it); evaluation samples are the
// shorter side resized to data.resize_size and a centre crop. Samples are uint8
// [data.channels, size, size] with an int64 label, normalised on the device as Fashion-MNIST's.
#pragma once
#include <memory>

#include "data/dataset.h"
#include "data/image_index.h"
#include "image/crop.h"

namespace kiln::data {

struct ImageFolderOptions {
  int channels = 3;
  int image_size = 224;
  int resize_size = 256;  // evaluation: shorter side before the centre crop
  image::RandomCropRange crop;
  bool jpeg_scaling = true;  // false: every JPEG decodes at full size
};

class ImageFolderSplit : public Dataset {
 public:
  // `members`: the index's files this split holds, in order (empty: all of them).
  ImageFolderSplit(std::shared_ptr<const ImageIndex> index, std::vector<int64_t> members, bool train,
                   ImageFolderOptions opts);
  int64_t size() const override;
  SampleSpec spec() const override;
  void read(int64_t index, void* input, void* target) const override { read_keyed(index, {}, input, target); }
  void read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const override;
  std::string fingerprint() const override;
  std::vector<std::string> skipped() const override { return index_->skipped; }
  // Reads and decodes all of sample `index` (at its DCT scale) into this thread's buffers and
  // returns its crop box in the decoded pixels: the decode benchmark's ceiling. read_keyed
  // decodes only the region its crop needs.
  image::Box decode(int64_t index, const SampleKey& key) const;
  const ImageIndex& index() const { return *index_; }
  // Sample `index`'s crop in the source image's pixels (width x height): RandomResizedCrop's
  // box in training, the resize + centre crop's in evaluation.
  image::Box crop_box(int64_t index, const SampleKey& key, int width, int height) const;
  const std::vector<int64_t>& members() const { return members_; }

 private:
  int64_t file(int64_t index) const { return members_.empty() ? index : members_[size_t(index)]; }
  // A sample read into this thread's file buffer, with its DCT scale, the image's size at that
  // scale and its crop box in those pixels.
  struct Prepared {
    const std::string* path = nullptr;  // this thread's buffer
    image::Scale scale;
    int width = 0, height = 0;
    image::Box box;
  };
  Prepared prepare(int64_t index, const SampleKey& key) const;
  void check_decoded(const Prepared& p) const;  // the decoded image's size is the header's

  std::shared_ptr<const ImageIndex> index_;
  std::vector<int64_t> members_;
  bool train_;
  ImageFolderOptions opts_;
};

Splits load_image_folder(const config::DataConfig& cfg);

}  // namespace kiln::data
