// The dataset registry, and the take-first view used by data.limit_train/limit_test.
#include <map>
#include <mutex>

#include "config/config.h"
#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "util/error.h"
#include "util/text.h"

namespace kiln::data {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, DatasetFactory> factories;
};

Registry& registry() {
  // Built-ins are added on first use, so static-initialisation order cannot lose them.
  static Registry* r = [] {
    auto* reg = new Registry;
    reg->factories["fashion-mnist"] = [](const config::DataConfig& c) { return load_fashion_mnist(c.dir); };
    return reg;
  }();
  return *r;
}

class FirstN : public Dataset {
 public:
  FirstN(DatasetPtr base, int64_t n) : base_(std::move(base)), n_(n) {}
  int64_t size() const override { return n_; }
  ImageShape shape() const override { return base_->shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  int64_t read(int64_t index, uint8_t* pixels) const override { return base_->read(index, pixels); }
  std::string fingerprint() const override { return base_->fingerprint() + "[:" + std::to_string(n_) + "]"; }

 private:
  DatasetPtr base_;
  int64_t n_;
};

}  // namespace

bool register_dataset(const std::string& name, DatasetFactory factory) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[name] = std::move(factory);
  return true;
}

std::vector<std::string> dataset_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

DatasetPtr take_first(DatasetPtr base, int64_t n) {
  if (n <= 0 || n >= base->size()) return base;
  return std::make_shared<FirstN>(std::move(base), n);
}

Splits load_splits(const config::DataConfig& cfg) {
  DatasetFactory factory;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(cfg.dataset);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string msg = "unknown dataset '" + cfg.dataset + "' (data.dataset)";
    const auto names = dataset_names();
    const std::string hint = util::did_you_mean(cfg.dataset, names);
    if (!hint.empty()) msg += "; " + hint;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error::usage(msg, "registered datasets: " + list);
  }
  Splits s = factory(cfg);
  if (!s.train || !s.test) throw Error::runtime("dataset '" + cfg.dataset + "' returned no train or test split");
  s.train = take_first(s.train, cfg.limit_train);
  s.test = take_first(s.test, cfg.limit_test);
  if (s.train->shape().channels != static_cast<int64_t>(cfg.mean.size())) {
    throw Error::usage("dataset '" + cfg.dataset + "' has " + std::to_string(s.train->shape().channels) +
                       " channel(s) but data.mean/data.std give " + std::to_string(cfg.mean.size()));
  }
  return s;
}

}  // namespace kiln::data
