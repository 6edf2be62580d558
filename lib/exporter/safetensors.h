// The safetensors format (Hugging Face's), written by hand: an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}} padded with spaces to a multiple of 8, then every tensor's raw
// little-endian bytes back to back, in the header's (name) order, offsets relative to the
// end of the header.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kiln::exporter {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The format's dtype name ("F32", "I64", ...); Error::usage for one it has none for.
std::string safetensors_dtype(c10::ScalarType t);

// The whole file's bytes. Tensors may live anywhere (copied to contiguous CPU memory);
// names must be unique.
std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata);

// Writes safetensors_bytes() to `path` atomically.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace kiln::exporter
