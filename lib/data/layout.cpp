#include "data/layout.h"

#include <ATen/ATen.h>

namespace kiln::data {

bool is_channels_last(const at::Tensor& t) {
  return t.dim() == 4 && t.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
}

at::Tensor channels_last(const at::Tensor& t) {
  if (t.dim() != 4) return t;
  // at::empty with a memory format lays out the canonical strides whatever the sizes.
  at::Tensor canonical = at::empty(t.sizes(), t.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (t.strides() == canonical.strides()) return t;
  // Channels-last-contiguous already but for the strides of size-1 dimensions, which address
  // nothing: the same memory, restrided, without a copy.
  if (t.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    return t.as_strided(t.sizes(), canonical.strides(), t.storage_offset());
  }
  return canonical.copy_(t);
}

}  // namespace kiln::data
