// The npy source: the .npz's members checked, targets read, inputs read per sample.
#include "data/arrays.h"

#include <c10/util/Half.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "config/config.h"
#include "repro/rng.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

namespace kiln::data {

// How a sample's input is stored and what the loader gets.
enum class InputKind { kImageChw, kImageHwc, kFeatures };

struct ArrayFile {
  std::filesystem::path path;
  int fd = -1;
  NpyArray x, y;
  InputKind kind = InputKind::kFeatures;
  std::vector<int64_t> sample_shape;  // per sample, as stored
  int64_t sample_bytes = 0;           // of x, as stored
  std::vector<uint8_t> y_bytes;       // all of y
  ~ArrayFile() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

void pread_all(const ArrayFile& f, int64_t at, int64_t n, uint8_t* out) {
  int64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(f.fd, out + got, size_t(n - got), off_t(at + got));
    if (r <= 0) throw Error::runtime(f.path.string() + ": read failed at byte " + std::to_string(at + got));
    got += r;
  }
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

std::shared_ptr<ArrayFile> open_arrays(const std::string& path, const config::DataConfig& cfg) {
  auto f = std::make_shared<ArrayFile>();
  f->path = path;
  const auto members = read_npz(path);
  auto member = [&](const std::string& key, const std::string& cfg_key) {
    const auto it = members.find(key);
    if (it == members.end()) {
      std::string names;
      for (const auto& [k, v] : members) names += (names.empty() ? "" : ", ") + k;
      throw Error::usage(path + " has no array '" + key + "' (" + cfg_key + ")",
                         "its arrays: " + (names.empty() ? std::string("none") : names) + "; set " + cfg_key);
    }
    return it->second;
  };
  f->x = member(cfg.x, "data.x");
  f->y = member(cfg.y, "data.y");
  const std::string xw = path + " array '" + cfg.x + "'", yw = path + " array '" + cfg.y + "'";
  if (f->x.shape.empty() || f->x.shape[0] < 1)
    throw Error::usage(xw + ": shape " + shape_text(f->x.shape) + " holds no samples");
  if (f->y.shape.empty() || f->y.shape[0] != f->x.shape[0]) {
    throw Error::usage(yw + ": shape " + shape_text(f->y.shape) + ", but '" + cfg.x + "' has " +
                           std::to_string(f->x.shape[0]) + " samples " + shape_text(f->x.shape),
                       "the first dimension of both is the sample");
  }
  if (f->y.descr == "<i8" ? f->y.shape.size() != 1 : (f->y.descr != "<f4" || f->y.shape.size() > 2)) {
    throw Error::usage(yw + ": dtype '" + f->y.descr + "' shape " + shape_text(f->y.shape) +
                           "; targets are int64 [N] class labels or float32 [N] / [N, K] values",
                       "convert it: y.astype(np.int64) or y.astype(np.float32)");
  }
  if (f->x.descr == "<i8") {
    throw Error::usage(xw + ": dtype int64; inputs are uint8, float16 or float32", "convert it: x.astype(np.float32)");
  }
  f->sample_shape.assign(f->x.shape.begin() + 1, f->x.shape.end());
  const auto& s = f->sample_shape;
  if (f->x.descr == "|u1" && s.size() == 2) {
    f->kind = InputKind::kImageChw;
    f->sample_shape.insert(f->sample_shape.begin(), 1);
  } else if (f->x.descr == "|u1" && s.size() == 3 && (s[0] == 1 || s[0] == 3)) {
    f->kind = InputKind::kImageChw;
  } else if (f->x.descr == "|u1" && s.size() == 3 && (s[2] == 1 || s[2] == 3)) {
    f->kind = InputKind::kImageHwc;
  }
  f->sample_bytes = f->x.item;
  for (const int64_t d : s) f->sample_bytes *= d;
  f->y_bytes.resize(size_t(f->y.count() * f->y.item));
  f->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) throw Error::usage(path + ": cannot open it");
  pread_all(*f, f->y.offset, int64_t(f->y_bytes.size()), f->y_bytes.data());
  return f;
}

// Philox-keyed shuffle of the rows, the first `fraction` held out (fixed key, as a csv's).
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_rows(int64_t n, double fraction, const std::string& path) {
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  for (int64_t r = 0; r < n; ++r) keyed.emplace_back(repro::philox_u64(0x6e7079, uint64_t(r), 0), r);
  std::sort(keyed.begin(), keyed.end());
  const int64_t held = std::max<int64_t>(1, int64_t(std::llround(fraction * double(n))));
  if (held >= n) throw Error::usage(path + ": " + std::to_string(n) + " samples are too few to hold out a share");
  std::vector<int64_t> train, test;
  for (int64_t i = 0; i < n; ++i) (i < held ? test : train).push_back(keyed[size_t(i)].second);
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return {train, test};
}

// Labels must be in [0, 2^31): their largest + 1 is the class count.
int64_t class_count(const ArrayFile& f, const std::string& where) {
  int64_t top = -1;
  for (int64_t i = 0; i < f.y.count(); ++i) {
    int64_t v;
    std::memcpy(&v, f.y_bytes.data() + i * 8, 8);
    if (v < 0 || v >= (int64_t(1) << 31)) {
      throw Error::usage(where + ": label " + std::to_string(v) + " at index " + std::to_string(i) +
                             " (class labels are 0, 1, 2, ...)",
                         "map the labels to 0..K-1");
    }
    top = std::max(top, v);
  }
  return top + 1;
}

std::string fingerprint_of(const ArrayFile& f) {
  util::Sha256 h;
  h.update(f.x.descr + shape_text(f.x.shape) + f.y.descr + shape_text(f.y.shape));
  h.update(f.y_bytes.data(), f.y_bytes.size());
  // The inputs' first and last MiB: a cheap check that they are the same (not a full hash).
  const int64_t total = f.x.count() * f.x.item, n = std::min<int64_t>(total, 1 << 20);
  std::vector<uint8_t> buf(static_cast<size_t>(n));
  pread_all(f, f.x.offset, n, buf.data());
  h.update(buf.data(), buf.size());
  pread_all(f, f.x.offset + total - n, n, buf.data());
  h.update(buf.data(), buf.size());
  return "npy:" + h.hex_digest().substr(0, 16);
}

}  // namespace

ArrayDataset::ArrayDataset(std::shared_ptr<const ArrayFile> file, std::vector<int64_t> rows, int64_t num_classes,
                           std::string fingerprint)
    : file_(std::move(file)), rows_(std::move(rows)), fingerprint_(std::move(fingerprint)) {
  const auto& s = file_->sample_shape;
  if (file_->kind == InputKind::kImageHwc) {
    spec_.input = {c10::ScalarType::Byte, {s[2], s[0], s[1]}};
  } else if (file_->kind == InputKind::kImageChw) {
    spec_.input = {c10::ScalarType::Byte, s};
  } else {
    spec_.input = {c10::ScalarType::Float, s};
  }
  if (num_classes > 0) {
    spec_.target = {c10::ScalarType::Long, {}};
    spec_.num_classes = num_classes;
  } else {
    spec_.target = {c10::ScalarType::Float,
                    file_->y.shape.size() == 2 ? std::vector<int64_t>{file_->y.shape[1]} : std::vector<int64_t>{}};
  }
}

void ArrayDataset::read(int64_t index, void* input, void* target) const {
  const ArrayFile& f = *file_;
  const int64_t row = rows_[size_t(index)];
  const int64_t tb = int64_t(spec_.target.bytes());
  std::memcpy(target, f.y_bytes.data() + row * tb, size_t(tb));
  const int64_t at = f.x.offset + row * f.sample_bytes;
  if (f.kind == InputKind::kImageChw || (f.kind == InputKind::kFeatures && f.x.descr == "<f4")) {
    pread_all(f, at, f.sample_bytes, static_cast<uint8_t*>(input));
    return;
  }
  thread_local std::vector<uint8_t> raw;
  raw.resize(size_t(f.sample_bytes));
  pread_all(f, at, f.sample_bytes, raw.data());
  if (f.kind == InputKind::kImageHwc) {  // [H, W, C] -> [C, H, W]
    const int64_t H = f.sample_shape[0], W = f.sample_shape[1], C = f.sample_shape[2];
    auto* out = static_cast<uint8_t*>(input);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < H * W; ++p) out[c * H * W + p] = raw[size_t(p * C + c)];
    return;
  }
  auto* out = static_cast<float*>(input);
  const int64_t n = f.sample_bytes / f.x.item;
  if (f.x.descr == "|u1") {
    for (int64_t i = 0; i < n; ++i) out[i] = float(raw[size_t(i)]);
  } else {  // <f2
    for (int64_t i = 0; i < n; ++i) {
      c10::Half h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      out[i] = float(h);
    }
  }
}

Splits load_npy(const config::DataConfig& cfg) {
  if (cfg.train.empty()) throw Error::usage("data.train is not set: data.dataset = \"npy\" needs an .npz file");
  auto train = open_arrays(cfg.train, cfg);
  std::shared_ptr<ArrayFile> test;
  std::vector<int64_t> train_rows, test_rows;
  if (!cfg.test.empty()) {
    test = open_arrays(cfg.test, cfg);
    if (test->sample_shape != train->sample_shape || test->x.descr != train->x.descr ||
        test->y.descr != train->y.descr) {
      throw Error::usage(cfg.test + "'s arrays are " + test->x.descr + " " + shape_text(test->x.shape) + " and " +
                         test->y.descr + " " + shape_text(test->y.shape) + ", but " + cfg.train + "'s are " +
                         train->x.descr + " " + shape_text(train->x.shape) + " and " + train->y.descr + " " +
                         shape_text(train->y.shape));
    }
    for (int64_t r = 0; r < train->x.shape[0]; ++r) train_rows.push_back(r);
    for (int64_t r = 0; r < test->x.shape[0]; ++r) test_rows.push_back(r);
  } else {
    std::tie(train_rows, test_rows) =
        split_rows(train->x.shape[0], cfg.val_fraction > 0 ? cfg.val_fraction : 0.2, cfg.train);
  }
  int64_t classes = 0;
  if (train->y.descr == "<i8") {
    classes = class_count(*train, cfg.train + " array '" + cfg.y + "'");
    if (test) classes = std::max(classes, class_count(*test, cfg.test + " array '" + cfg.y + "'"));
  }
  const std::string print = fingerprint_of(*train) + (test ? "+" + fingerprint_of(*test).substr(4) : "");
  Splits s;
  s.train =
      std::make_shared<ArrayDataset>(train, train_rows, classes, print + ":train" + std::to_string(train_rows.size()));
  s.test = std::make_shared<ArrayDataset>(test ? test : train, test_rows, classes,
                                          print + ":test" + std::to_string(test_rows.size()));
  log::info("npy: " + cfg.train + ", " + std::to_string(train_rows.size()) + " training and " +
            std::to_string(test_rows.size()) + " validation samples of " + describe(s.train->spec().input) + " -> " +
            describe(s.train->spec().target) + (classes ? " (" + std::to_string(classes) + " classes)" : ""));
  return s;
}

}  // namespace kiln::data
