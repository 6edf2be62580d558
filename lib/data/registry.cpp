// The dataset registry, and the take-first view used by data.limit_train/limit_test.
#include "util/registry.h"
#include "config/config.h"
#include "data/arrays.h"
#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "data/image_folder.h"
#include "data/table.h"
#include "data/tokens.h"
#include "util/error.h"

namespace kiln::data {
namespace {

util::Registry<DatasetFactory>& registry() {
  static auto* r = new util::Registry<DatasetFactory>("dataset", "data.dataset", [](auto& reg) {
    reg.add("fashion-mnist", [](const config::DataConfig& c) { return load_fashion_mnist(c.dir); });
    reg.add("image-folder", [](const config::DataConfig& c) { return load_image_folder(c); });
    reg.add("tokens", [](const config::DataConfig& c) { return load_tokens(c); });
    reg.add("csv", [](const config::DataConfig& c) { return load_csv(c); });
    reg.add("npy", [](const config::DataConfig& c) { return load_npy(c); });
  });
  return *r;
}

class FirstN : public Dataset {
 public:
  FirstN(DatasetPtr base, int64_t n) : base_(std::move(base)), n_(n) {}
  int64_t size() const override { return n_; }
  SampleSpec spec() const override { return base_->spec(); }
  void read(int64_t index, void* input, void* target) const override { base_->read(index, input, target); }
  void read_keyed(int64_t index, const SampleKey& key, void* input, void* target) const override {
    base_->read_keyed(index, key, input, target);
  }
  std::string fingerprint() const override { return base_->fingerprint() + "[:" + std::to_string(n_) + "]"; }
  bool draws_own_order() const override { return base_->draws_own_order(); }
  std::string preprocessing() const override { return base_->preprocessing(); }

 private:
  DatasetPtr base_;
  int64_t n_;
};

}  // namespace

bool register_dataset(const std::string& name, DatasetFactory factory) {
  registry().add(name, std::move(factory));
  return true;
}

std::vector<std::string> dataset_names() { return registry().names(); }

DatasetPtr take_first(DatasetPtr base, int64_t n) {
  if (n <= 0 || n >= base->size()) return base;
  return std::make_shared<FirstN>(std::move(base), n);
}

Splits load_splits(const config::DataConfig& cfg) {
  Splits s = registry().get(cfg.dataset)(cfg);
  if (!s.train || !s.test) throw Error::runtime("dataset '" + cfg.dataset + "' returned no train or test split");
  s.train = take_first(s.train, cfg.limit_train);
  s.test = take_first(s.test, cfg.limit_test);
  const SampleSpec train = s.train->spec(), test = s.test->spec();
  if (train.input.dtype != test.input.dtype || train.input.shape != test.input.shape ||
      train.target.dtype != test.target.dtype || train.target.shape != test.target.shape) {
    throw Error::usage("dataset '" + cfg.dataset + "': its train split holds " + describe(train.input) + " -> " +
                       describe(train.target) + " samples but its test split " + describe(test.input) + " -> " +
                       describe(test.target));
  }
  if (train.is_image() && train.image().channels != static_cast<int64_t>(cfg.mean.size())) {
    throw Error::usage("dataset '" + cfg.dataset + "' has " + std::to_string(train.image().channels) +
                       " channel(s) but data.mean/data.std give " + std::to_string(cfg.mean.size()));
  }
  return s;
}

}  // namespace kiln::data
