// The image-folder dataset (see image_folder.h).
#include "data/image_folder.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "config/config.h"
#include "image/decode.h"
#include "image/resample.h"
#include "repro/rng.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

namespace kiln::data {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kCropStream = 3;  // Philox lane: 1 is the shuffle, 2 the augmentation

// A loader thread's decoder and buffers, reused for every sample it reads.
struct Worker {
  image::Decoder decoder;
  image::Pixels pixels;
  image::Resampler resampler;
  std::vector<uint8_t> file;
  std::string path;  // the sample's file, built in place (no allocation once grown)
};

Worker& worker() {
  thread_local Worker w;
  return w;
}

// The whole file, which must still have the size the index saw.
void read_file(const std::string& p, uint64_t bytes, std::vector<uint8_t>& buf) {
  util::read_prefix(p.c_str(), size_t(bytes) + 1, buf);  // one byte more, to see a file that grew
  if (buf.size() != bytes) {
    throw Error::usage("image " + p + " changed size since the index was built (" + std::to_string(bytes) +
                           " bytes then, " + std::to_string(buf.size()) + (buf.size() > bytes ? "+" : "") + " now)",
                       "do not modify the folder while a run uses it");
  }
}

// The held-out share of a folder with no val/: a seeded shuffle of every file, the first
// `fraction` of it held out; the rest trains. Both keep the index's order.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_by_seed(int64_t n, double fraction, uint64_t seed) {
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  for (int64_t i = 0; i < n; ++i) keyed.emplace_back(repro::philox_u64(seed, uint64_t(i), 0, kCropStream + 1), i);
  std::sort(keyed.begin(), keyed.end());
  const int64_t held = std::max<int64_t>(1, int64_t(fraction * double(n)));
  std::vector<int64_t> train, val;
  for (int64_t k = 0; k < n; ++k) (k < held ? val : train).push_back(keyed[size_t(k)].second);
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {train, val};
}

// data.on_bad_image = "skip": say what was left out (the first few by name).
void report_skipped(const ImageIndex& ix) {
  if (ix.skipped.empty()) return;
  std::string list;
  for (size_t i = 0; i < ix.skipped.size() && i < 10; ++i) list += "\n  " + ix.skipped[i];
  if (ix.skipped.size() > 10) list += "\n  ... and " + std::to_string(ix.skipped.size() - 10) + " more";
  log::warn("skipped " + std::to_string(ix.skipped.size()) + " unreadable image(s) in " + ix.root.string() + ":" +
            list);
}

}  // namespace

ImageFolderSplit::ImageFolderSplit(std::shared_ptr<const ImageIndex> index, std::vector<int64_t> members, bool train,
                                   ImageFolderOptions opts)
    : index_(std::move(index)), members_(std::move(members)), train_(train), opts_(opts) {}

int64_t ImageFolderSplit::size() const { return members_.empty() ? index_->size() : int64_t(members_.size()); }

SampleSpec ImageFolderSplit::spec() const {
  SampleSpec s;
  s.input = {c10::ScalarType::Byte, {opts_.channels, opts_.image_size, opts_.image_size}};
  s.target = {c10::ScalarType::Long, {}};
  s.num_classes = int64_t(index_->classes.size());
  s.class_names = std::shared_ptr<const std::vector<std::string>>(index_, &index_->classes);  // aliases the index
  return s;
}

image::Box ImageFolderSplit::crop_box(int64_t index, const SampleKey& key, int W, int H) const {
  if (!train_) return image::resize_center_crop(W, H, opts_.resize_size, opts_.image_size);
  // Uniform k of this sample: word k % 4 of Philox block k / 4.
  auto uniform = [&](int k) {
    const auto r = repro::philox4x32(
        {uint32_t(index), uint32_t(uint64_t(index) >> 32), uint32_t(key.epoch), kCropStream | (uint32_t(k / 4) << 8)},
        {uint32_t(key.seed), uint32_t(key.seed >> 32)});
    return double(r[size_t(k % 4)]) * (1.0 / 4294967296.0);
  };
  return image::random_resized_crop(W, H, opts_.crop, uniform);
}

ImageFolderSplit::Prepared ImageFolderSplit::prepare(int64_t index, const SampleKey& key) const {
  Worker& w = worker();
  const int64_t f = file(index);
  const ImageIndex& ix = *index_;
  Prepared p;
  w.path.assign(ix.root.native());
  w.path += '/';
  w.path += ix.name(f);
  p.path = &w.path;
  read_file(w.path, ix.bytes[size_t(f)], w.file);
  const int W = ix.width[size_t(f)], H = ix.height[size_t(f)];
  const int S = opts_.image_size;
  const image::Box box = crop_box(index, key, W, H);
  // JPEGs decode at the smallest DCT scale that keeps the crop at least S x S.
  const bool jpeg = image::sniff(w.file.data(), w.file.size()) == image::Format::kJpeg;
  p.scale = jpeg && opts_.jpeg_scaling ? image::choose_scale(box.width(), box.height(), S, S) : image::Scale{};
  p.width = p.scale.scaled(W);
  p.height = p.scale.scaled(H);
  const double fx = double(p.width) / W, fy = double(p.height) / H;
  p.box = {box.x0 * fx, box.y0 * fy, box.x1 * fx, box.y1 * fy};
  return p;
}

void ImageFolderSplit::check_decoded(const Prepared& p) const {
  const image::Pixels& px = worker().pixels;
  if (px.full_width != p.width || px.full_height != p.height) {
    throw Error::usage("image " + *p.path + " decoded to a size its header did not give");
  }
}

image::Box ImageFolderSplit::decode(int64_t index, const SampleKey& key) const {
  const Prepared p = prepare(index, key);
  Worker& w = worker();
  w.decoder.decode(w.file.data(), w.file.size(), *p.path, opts_.channels, p.scale, w.pixels);
  check_decoded(p);
  return p.box;
}

void ImageFolderSplit::read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const {
  const Prepared p = prepare(index, key);
  Worker& w = worker();
  image::Box b = p.box;
  // The view the filter may read: the crop itself in training (torchvision crops, then
  // resizes), the whole image in evaluation (it resizes, then crops). At full scale a
  // training crop has integer edges, and the result is Pillow's, byte for byte.
  image::View view{0, 0, p.width, p.height};
  if (train_) {
    view.x = std::max(0, int(std::floor(b.x0)));
    view.y = std::max(0, int(std::floor(b.y0)));
    view.width = std::min(p.width, int(std::ceil(b.x1))) - view.x;
    view.height = std::min(p.height, int(std::ceil(b.y1))) - view.y;
    b = {b.x0 - view.x, b.y0 - view.y, std::min(b.x1 - view.x, double(view.width)),
         std::min(b.y1 - view.y, double(view.height))};
  }
  // Only the pixels the filter reads are decoded (JPEG: the rows and columns of that region).
  const image::Rect need = w.resampler.plan(view, b, opts_.image_size, opts_.image_size);
  w.decoder.decode(w.file.data(), w.file.size(), *p.path, opts_.channels, p.scale, w.pixels, need);
  check_decoded(p);
  w.resampler.execute(w.pixels, static_cast<uint8_t*>(input));
  *static_cast<int64_t*>(target) = index_->label[size_t(file(index))];
}

std::string ImageFolderSplit::fingerprint() const {
  return "image-folder:" + index_->fingerprint().substr(0, 16) +
         (members_.empty() ? ""
                           : "[" + std::to_string(members_.size()) + " of " + std::to_string(index_->size()) + "]");
}

Splits load_image_folder(const config::DataConfig& cfg) {
  const fs::path dir = cfg.dir;
  ImageFolderOptions o;
  o.channels = int(cfg.channels);
  o.image_size = int(cfg.image_size);
  o.resize_size = cfg.resize_size > 0 ? int(cfg.resize_size) : int((cfg.image_size * 8 + 3) / 7);
  o.crop = {cfg.crop_scale[0], cfg.crop_scale[1], cfg.crop_ratio[0], cfg.crop_ratio[1]};
  o.jpeg_scaling = cfg.jpeg_scaling;
  IndexOptions io;
  io.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  io.skip_bad = cfg.on_bad_image == "skip";
  io.what = "train images";
  auto train = std::make_shared<const ImageIndex>(index_images(dir / "train", io));
  report_skipped(*train);
  Splits s;
  if (cfg.val_fraction > 0) {
    auto [t, v] = split_by_seed(train->size(), cfg.val_fraction, 0x76616c /* "val" */);
    s.train = std::make_shared<ImageFolderSplit>(train, t, true, o);
    s.test = std::make_shared<ImageFolderSplit>(train, v, false, o);
    return s;
  }
  fs::path val_dir = dir / "val";
  if (!fs::is_directory(val_dir) && fs::is_directory(dir / "test")) val_dir = dir / "test";
  if (!fs::is_directory(val_dir)) {
    throw Error::usage("image folder " + dir.string() + " has train/ but no val/ or test/ folder",
                       "add one, or set data.val_fraction (e.g. 0.1) to hold out a share of train/");
  }
  io.expect = train->classes;
  io.what = "val images";
  auto val = std::make_shared<const ImageIndex>(index_images(val_dir, io));
  report_skipped(*val);
  s.train = std::make_shared<ImageFolderSplit>(train, std::vector<int64_t>{}, true, o);
  s.test = std::make_shared<ImageFolderSplit>(val, std::vector<int64_t>{}, false, o);
  return s;
}

}  // namespace kiln::data
