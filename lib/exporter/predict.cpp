// predict: load, list the files, decode and resample each into a uint8 batch, softmax.
#include "exporter/predict.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/softmax.h>
#include <torch/autograd.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "exporter/torchscript.h"
#include "image/crop.h"
#include "image/decode.h"
#include "image/resample.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::exporter {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Loaded {
  torch::jit::Module module;
  json meta;
  int64_t channels = 0, height = 0, width = 0, resize = 0;
};

Loaded load(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw Error::usage("model " + path.string() + " does not exist");
  Loaded l;
  torch::jit::ExtraFilesMap extra{{kMetadataFile, ""}};
  try {
    l.module = torch::jit::load(path.string(), c10::Device(c10::kCPU), extra);
  } catch (const c10::Error& e) {
    const std::string why = e.what_without_backtrace();
    throw Error::usage(path.string() + " is not a TorchScript archive: " + why.substr(0, why.find('.')),
                       "export one with kiln export RUN_DIR --format torchscript");
  }
  l.meta = json::parse(extra[kMetadataFile], nullptr, false);
  if (!l.meta.is_object() || l.meta.value("format", "") != "kiln-torchscript") {
    throw Error::usage(path.string() + " is not an exported kiln model (no kiln.json in the archive)",
                       "export one with kiln export RUN_DIR --format torchscript");
  }
  const json& pre = l.meta["preprocessing"];
  if (pre.value("kind", "") != "image" || l.meta.value("task", "") != "classification") {
    throw Error::usage(path.string() + " is a model for train.task = " + l.meta.value("task", std::string("?")) +
                           " on " + pre.value("kind", std::string("?")) +
                           " inputs; kiln predict runs image classifiers",
                       pre.value("kind", "") == "tokens" ? "sample a language model's run with kiln generate" : "");
  }
  const auto shape = l.meta["input"]["shape"].get<std::vector<int64_t>>();
  l.channels = shape.at(0), l.height = shape.at(1), l.width = shape.at(2);
  l.resize = pre["resize"].get<int64_t>();
  l.module.eval();
  return l;
}

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// Files as given; folders searched (recursively) for images, in name order.
std::vector<fs::path> list_inputs(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> files;
  for (const fs::path& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::recursive_directory_iterator(in)) {
        if (e.is_regular_file() && is_image_name(e.path())) found.push_back(e.path());
      }
      if (found.empty()) throw Error::usage("folder " + in.string() + " holds no .png, .jpg or .jpeg files");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in)) {
      files.push_back(in);
    } else {
      throw Error::usage("input " + in.string() + " does not exist");
    }
  }
  return files;
}

// One image as the model's uint8 [C, H, W]: the evaluation transform's resize + centre crop
// for a square input; a non-square one resizes the whole image to W x H.
void read_image(const fs::path& path, const Loaded& l, image::Decoder& dec, image::Resampler& rs, uint8_t* out) {
  const std::string bytes = util::read_file(path);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  image::Pixels px;
  dec.decode(data, bytes.size(), path.string(), int(l.channels), image::Scale{}, px);
  const int W = px.full_width, H = px.full_height;
  const image::Box box = l.height == l.width ? image::resize_center_crop(W, H, int(l.resize), int(l.width))
                                             : image::Box{0, 0, double(W), double(H)};
  rs.plan(image::View{0, 0, W, H}, box, int(l.width), int(l.height));
  rs.execute(px, out);
}

}  // namespace

std::vector<Prediction> predict(const PredictOptions& o) {
  if (o.top < 1) throw Error::usage("--top must be 1 or more");
  Loaded l = load(o.model);
  const std::vector<fs::path> files = list_inputs(o.inputs);
  const auto classes = l.meta["classes"].get<std::vector<std::string>>();
  image::Decoder dec;
  image::Resampler rs;
  torch::NoGradGuard no_grad;
  std::vector<Prediction> out;
  const int64_t per = l.channels * l.height * l.width;
  for (size_t first = 0; first < files.size(); first += size_t(o.batch)) {
    const int64_t n = std::min<int64_t>(o.batch, int64_t(files.size() - first));
    at::Tensor batch = at::empty({n, l.channels, l.height, l.width}, at::kByte);
    for (int64_t i = 0; i < n; ++i) {
      try {
        read_image(files[first + size_t(i)], l, dec, rs, batch.data_ptr<uint8_t>() + i * per);
      } catch (const Error& e) {
        // The decoder's hint is the loader's (data.on_bad_image); here the file is the user's.
        throw Error::usage(e.what(), "pass PNG or JPEG files only, ones that open in an image viewer");
      }
    }
    const at::Tensor logits = l.module.forward({batch}).toTensor().to(at::kFloat).contiguous();
    const at::Tensor probs = at::softmax(logits.to(at::kDouble), 1);
    const int64_t k = std::min<int64_t>(o.top, logits.size(1));
    const auto [p, idx] = probs.topk(k, 1);
    for (int64_t i = 0; i < n; ++i) {
      Prediction pr;
      pr.file = files[first + size_t(i)];
      for (int64_t j = 0; j < k; ++j) {
        const int64_t c = idx[i][j].item<int64_t>();
        pr.top.push_back(
            {c, c < int64_t(classes.size()) ? classes[size_t(c)] : std::to_string(c), p[i][j].item<double>()});
      }
      const float* row = logits.data_ptr<float>() + i * logits.size(1);
      pr.logits.assign(row, row + logits.size(1));
      out.push_back(std::move(pr));
    }
  }
  return out;
}

}  // namespace kiln::exporter
