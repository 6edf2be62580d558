// safetensors: the header in name order (nlohmann's object is a sorted map), data in the same.
#include "exporter/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"

namespace kiln::exporter {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors stores little-endian data: copy with swaps");

std::string safetensors_dtype(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Double:
      return "F64";
    case c10::ScalarType::Float:
      return "F32";
    case c10::ScalarType::Half:
      return "F16";
    case c10::ScalarType::BFloat16:
      return "BF16";
    case c10::ScalarType::Long:
      return "I64";
    case c10::ScalarType::Int:
      return "I32";
    case c10::ScalarType::Short:
      return "I16";
    case c10::ScalarType::Char:
      return "I8";
    case c10::ScalarType::Byte:
      return "U8";
    case c10::ScalarType::Bool:
      return "BOOL";
    default:
      throw Error::usage(std::string("safetensors has no dtype for ") + c10::toString(t));
  }
}

std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || !by_name.emplace(name, t).second) {
      throw Error::usage("safetensors: the tensor name \"" + name + "\" is reserved or used twice");
    }
  }
  nlohmann::json header = nlohmann::json::object();
  std::vector<at::Tensor> data;  // contiguous CPU copies, in header order
  uint64_t offset = 0;
  for (const auto& [name, t] : by_name) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t n = uint64_t(c.nbytes());
    header[name] = {{"dtype", safetensors_dtype(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(std::move(c));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // the reference writer aligns the data to 8 bytes
  std::string out;
  out.reserve(8 + json.size() + offset);
  const uint64_t len = json.size();
  out.append(reinterpret_cast<const char*>(&len), 8);
  out += json;
  for (const at::Tensor& c : data) out.append(static_cast<const char*>(c.const_data_ptr()), c.nbytes());
  return out;
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  util::atomic_write(path, safetensors_bytes(tensors, metadata));
}

}  // namespace kiln::exporter
