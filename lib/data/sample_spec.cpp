// TensorSpec and SampleSpec helpers, and ImageDataset's spec.
#include <c10/core/ScalarType.h>

#include "data/dataset.h"
#include "util/error.h"

namespace kiln::data {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

size_t TensorSpec::bytes() const { return size_t(numel()) * c10::elementSize(dtype); }

std::string dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Byte:
      return "uint8";
    case c10::ScalarType::Long:
      return "int64";
    case c10::ScalarType::Int:
      return "int32";
    case c10::ScalarType::Float:
      return "float32";
    case c10::ScalarType::Double:
      return "float64";
    default:
      return c10::toString(t);
  }
}

std::string describe(const TensorSpec& t) {
  std::string s = dtype_name(t.dtype) + " [";
  for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

bool SampleSpec::is_image() const { return input.dtype == c10::ScalarType::Byte && input.shape.size() == 3; }

ImageShape SampleSpec::image() const {
  if (!is_image()) throw Error::runtime("not an image input: " + describe(input));
  return {input.shape[0], input.shape[1], input.shape[2]};
}

SampleSpec ImageDataset::spec() const {
  const ImageShape s = shape();
  SampleSpec out;
  out.input = {c10::ScalarType::Byte, {s.channels, s.height, s.width}};
  out.target = {c10::ScalarType::Long, {}};
  out.num_classes = num_classes();
  return out;
}

}  // namespace kiln::data
