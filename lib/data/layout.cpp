#include "data/layout.h"

#include <ATen/ATen.h>

#include <vector>

namespace kiln::data {

bool is_channels_last(const at::Tensor& t) {
  return t.dim() == 4 && t.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
}

at::Tensor channels_last(const at::Tensor& t) {
  if (t.dim() != 4) return t;
  // The canonical NHWC strides of [N, C, H, W], as at::empty(..., ChannelsLast) lays them out
  // (computed, not allocated: this runs once per batch).
  const int64_t c = t.size(1), w = t.size(3);
  const std::vector<int64_t> strides = {t.size(2) * w * c, 1, w * c, c};
  if (t.strides() == at::IntArrayRef(strides)) return t;
  // Channels-last-contiguous already but for the strides of size-1 dimensions, which address
  // nothing: the same memory, restrided, without a copy.
  if (t.is_contiguous(at::MemoryFormat::ChannelsLast)) return t.as_strided(t.sizes(), strides, t.storage_offset());
  return at::empty(t.sizes(), t.options().memory_format(at::MemoryFormat::ChannelsLast)).copy_(t);
}

}  // namespace kiln::data
