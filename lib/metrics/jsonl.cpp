// metrics.jsonl: one JSON object per line, flushed per record so a killed run keeps its log.
#include <nlohmann/json.hpp>

#include "metrics/sink.h"
#include "util/error.h"

namespace kiln::metrics {
namespace {

class JsonlSink : public Sink {
 public:
  explicit JsonlSink(const std::filesystem::path& path) : out_(path, std::ios::app) {
    if (!out_) throw Error::runtime("cannot open " + path.string() + " for writing");
  }
  void on_step(const StepRecord& r) override {
    nlohmann::json j = {{"type", "step"}, {"step", r.step},        {"epoch", r.epoch},
                        {"loss", r.loss}, {"lr", r.lr},            {"samples", r.samples},
                        {"data_wait_ms", r.data_wait_ms},          {"time_s", r.time_s}};
    if (r.grad_norm >= 0) j["grad_norm"] = r.grad_norm;
    if (r.copy_ms >= 0) j["copy_ms"] = r.copy_ms;
    if (r.skipped) j["skipped"] = true;
    out_ << j.dump() << '\n';
    out_.flush();
  }
  void on_eval(const EvalRecord& r) override {
    nlohmann::json j = {{"type", "eval"},           {"step", r.step},
                        {"epoch", r.epoch},         {"test_loss", r.test_loss},
                        {"test_accuracy", r.test_accuracy}, {"time_s", r.time_s}};
    out_ << j.dump() << '\n';
    out_.flush();
  }
  void close() override { out_.close(); }

 private:
  std::ofstream out_;
};

}  // namespace

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::unique_ptr<Sink> make_jsonl_sink(const std::filesystem::path& path) { return std::make_unique<JsonlSink>(path); }

}  // namespace kiln::metrics
