// data.dataset = "npy": arrays someone already prepared, in an .npz as np.savez writes it
// (data.train, and data.test or a seeded data.val_fraction of its rows, default a fifth),
// members data.x (default "x": the inputs, [N, ...]) and data.y (default "y": int64 [N] class
// labels, or float32 [N] / [N, K] regression targets). The inputs are read from the file per
// sample (pread; nothing of x is held in memory), the targets once. Inputs:
//   uint8 [N, H, W] or [N, C, H, W] (C = 1 or 3) or [N, H, W, C]: images [C, H, W] (HWC is
//     transposed), normalised per channel by data.mean / data.std like Fashion-MNIST's;
//   any other uint8, float16 or float32 shape: float32 features of that shape.
#pragma once
#include "data/dataset.h"
#include "data/npy.h"

namespace kiln::data {

struct ArrayFile;  // the open file, shared by the splits

class ArrayDataset : public Dataset {
 public:
  // `rows` of the arrays; `num_classes` > 0 for int64 labels.
  ArrayDataset(std::shared_ptr<const ArrayFile> file, std::vector<int64_t> rows, int64_t num_classes,
               std::string fingerprint);
  int64_t size() const override { return int64_t(rows_.size()); }
  SampleSpec spec() const override { return spec_; }
  void read(int64_t index, void* input, void* target) const override;
  std::string fingerprint() const override { return fingerprint_; }

 private:
  std::shared_ptr<const ArrayFile> file_;
  std::vector<int64_t> rows_;
  SampleSpec spec_;
  std::string fingerprint_;
};

Splits load_npy(const config::DataConfig& cfg);

}  // namespace kiln::data
