// to_torchscript: the preprocessing as tensor ops on buffers of a top module, the net as its
// `net` submodule, both traced in one forward.
#include "exporter/torchscript.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/isnan.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/where.h>
#include <torch/autograd.h>

#include <sstream>

#include "data/augment.h"
#include "exporter/trace.h"
#include "model/transformer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/version.h"

namespace kiln::exporter {
namespace fs = std::filesystem;
namespace jit = torch::jit;
using nlohmann::json;

namespace {

json image_preprocessing(const run::RunModel& rm) {
  const auto& d = rm.cfg.data;
  const int64_t C = rm.input.shape[0], H = rm.input.shape[1], W = rm.input.shape[2];
  if (int64_t(d.mean.size()) != C || int64_t(d.std.size()) != C) {
    throw Error::usage(rm.dir.config().string() + ": data.mean and data.std have " + std::to_string(d.mean.size()) +
                       " and " + std::to_string(d.std.size()) + " values for " + std::to_string(C) + " channels");
  }
  // As the image folder's evaluation transform: the shorter side resized, then a centre crop.
  const int64_t resize =
      d.dataset == "image-folder" ? (d.resize_size > 0 ? d.resize_size : (d.image_size * 8 + 3) / 7) : std::min(H, W);
  return {{"kind", "image"}, {"mean", d.mean}, {"std", d.std}, {"resize", resize}, {"size", {H, W}}};
}

json table_preprocessing(const run::RunModel& rm) {
  const json schema = json::parse(util::read_file(rm.dir.preprocessing()), nullptr, false);
  if (!schema.is_object() || !schema.contains("features")) {
    throw Error::usage(rm.dir.preprocessing().string() + " is not a table's preprocessing record");
  }
  int64_t numeric = 0;
  for (const json& f : schema["features"]) numeric += f.contains("mean") ? 1 : 0;
  return {{"kind", "table"}, {"numeric", numeric}, {"schema", schema}};
}

json preprocessing(const run::RunModel& rm) {
  const auto& shape = rm.input.shape;
  if (rm.input_dtype == "uint8" && shape.size() == 3) return image_preprocessing(rm);
  if (rm.cfg.data.dataset == "csv" && fs::is_regular_file(rm.dir.preprocessing())) return table_preprocessing(rm);
  if (rm.input_dtype == "int64" && rm.cfg.model.name == "transformer") {
    const auto& k = rm.cfg.model.knobs<model::TransformerKnobs>();
    return {{"kind", "tokens"}, {"context", k.seq_len > 0 ? k.seq_len : shape.at(0)}, {"vocab", rm.input.outputs}};
  }
  return {{"kind", "none"}};
}

c10::ScalarType dtype_of(const std::string& name) {
  if (name == "uint8") return at::kByte;
  if (name == "float32") return at::kFloat;
  if (name == "float64") return at::kDouble;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  throw Error::usage("kiln export cannot feed a model input of dtype \"" + name + "\"");
}

// The per-sample shape the exported forward takes (tokens: the context, not data.seq_len).
std::vector<int64_t> sample_shape(const run::RunModel& rm, const json& pre) {
  if (pre["kind"] == "tokens") return {pre["context"].get<int64_t>()};
  return rm.input.shape;
}

at::Tensor random_batch(int64_t rows, const std::vector<int64_t>& sample, c10::ScalarType dtype, const json& pre) {
  std::vector<int64_t> shape = {rows};
  shape.insert(shape.end(), sample.begin(), sample.end());
  if (dtype == at::kByte) return at::randint(0, 256, shape, at::kByte);
  if (pre["kind"] == "tokens") return at::randint(0, pre["vocab"].get<int64_t>(), shape, at::kLong);
  if (c10::isIntegralType(dtype, false)) return at::randint(0, 2, shape, dtype);
  return at::randn(shape, dtype);
}

at::Tensor doubles(const std::vector<double>& v) { return at::tensor(v, at::kDouble); }

}  // namespace

json metadata(const run::RunModel& rm, const fs::path& checkpoint) {
  const json pre = preprocessing(rm);
  return {{"format", "kiln-torchscript"},
          {"version", 1},
          {"kiln_version", util::version()},
          {"architecture", rm.cfg.model.name},
          {"task", rm.cfg.train.task},
          {"input", {{"dtype", rm.input_dtype}, {"shape", sample_shape(rm, pre)}}},
          {"outputs", rm.input.outputs},
          {"classes", rm.classes},
          {"preprocessing", pre},
          {"run_dir", fs::absolute(rm.dir.root).lexically_normal().string()},
          {"checkpoint", fs::absolute(checkpoint).lexically_normal().string()},
          {"config", rm.config_toml}};
}

TorchScript to_torchscript(const run::RunModel& rm, model::Net& net, const json& meta) {
  net.eval();
  for (auto& p : net.parameters()) p.requires_grad_(false);
  torch::NoGradGuard no_grad;
  auto cu = std::make_shared<jit::CompilationUnit>();
  TorchScript out{new_module("Model", cu)};
  jit::Module& top = out.module;
  top.register_module("net", mirror(net, cu));
  top.register_attribute("classes", c10::ListType::ofStrings(), c10::List<std::string>(rm.classes));

  const json& pre = meta["preprocessing"];
  const std::string kind = pre["kind"];
  std::function<at::Tensor(const at::Tensor&)> prep = [](const at::Tensor& x) { return x; };
  if (kind == "image") {
    // The loader's table (data/augment.h): lut[c * 256 + v] = (v / 255 - mean[c]) / std[c] in
    // float32, indexed per pixel with offsets c * 256, as ThreadedLoader does on the GPU.
    const std::vector<float> lut =
        data::normalize_lut(pre["mean"].get<std::vector<double>>(), pre["std"].get<std::vector<double>>());
    const int64_t C = rm.input.shape[0];
    top.register_buffer("lut",
                        at::from_blob(const_cast<float*>(lut.data()), {int64_t(lut.size())}, at::kFloat).clone());
    top.register_buffer("channel_offset", (at::arange(C, at::kInt) * 256).view({1, C, 1, 1}));
    const at::Tensor lut_t = top.attr("lut").toTensor(), offset = top.attr("channel_offset").toTensor();
    prep = [lut_t, offset](const at::Tensor& x) {
      return lut_t.index_select(0, (x.to(at::kInt) + offset).flatten()).view_as(x);
    };
  } else if (kind == "table") {
    // (x - mean) / std in double, as data/table.cpp standardises; a NaN (a missing cell) takes
    // the training split's fill value first. One-hot columns (after the numeric ones) pass.
    std::vector<double> mean, std, fill;
    for (const json& f : pre["schema"]["features"]) {
      if (!f.contains("mean")) continue;
      mean.push_back(f["mean"]), std.push_back(f["std"]), fill.push_back(f.value("fill", f["mean"].get<double>()));
    }
    top.register_buffer("mean", doubles(mean));
    top.register_buffer("std", doubles(std));
    top.register_buffer("fill", doubles(fill));
    const at::Tensor m = top.attr("mean").toTensor(), s = top.attr("std").toTensor(), f = top.attr("fill").toTensor();
    const int64_t n = int64_t(mean.size()), width = rm.input.shape.at(0);
    prep = [m, s, f, n, width](const at::Tensor& x) {
      const at::Tensor num = x.narrow(1, 0, n).to(at::kDouble);
      const at::Tensor z = ((at::where(at::isnan(num), f, num) - m) / s).to(at::kFloat);
      return n == width ? z : at::cat({z, x.narrow(1, n, width - n)}, 1);
    };
  }
  auto forward = [&](const at::Tensor& x) { return net.forward(prep(x)); };

  const c10::ScalarType dtype = dtype_of(rm.input_dtype);
  const std::vector<int64_t> sample = meta["input"]["shape"];
  try {
    trace_forward(top, random_batch(2, sample, dtype, pre), forward);
  } catch (const c10::Error& e) {
    throw Error::usage("kiln export cannot trace model \"" + rm.cfg.model.name + "\": " + e.what_without_backtrace());
  }
  // A batch size the trace did not see: a size frozen into the graph would show here.
  const at::Tensor x = random_batch(3, sample, dtype, pre);
  const at::Tensor eager = forward(x);
  at::Tensor traced;
  try {
    traced = out.module.forward({x}).toTensor();
  } catch (const c10::Error& e) {
    throw Error::runtime("the traced \"" + rm.cfg.model.name +
                         "\" fails on a batch of 3 (a size frozen in its graph?): " + e.what_without_backtrace());
  }
  if (traced.sizes() != eager.sizes()) {
    throw Error::runtime("the traced \"" + rm.cfg.model.name + "\" gives outputs of another shape than the net");
  }
  out.max_abs_diff = (traced.to(at::kDouble) - eager.to(at::kDouble)).abs().max().item<double>();
  if (!(out.max_abs_diff <= 1e-4 * (1 + eager.abs().max().item<double>()))) {
    throw Error::runtime("the traced \"" + rm.cfg.model.name + "\" differs from the net by " +
                         std::to_string(out.max_abs_diff) + " on a random batch");
  }
  return out;
}

std::string torchscript_bytes(const jit::Module& m, const json& meta) {
  std::ostringstream os;
  m.save(os, {{kMetadataFile, meta.dump(2)}});
  return os.str();
}

}  // namespace kiln::exporter
