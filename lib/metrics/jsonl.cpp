// metrics.jsonl: one JSON object per line, one write(2) per record so a killed run keeps its
// log. A record that cannot be written (disk full) stops the run with the reason: a log that
// quietly loses lines would make the run's loss trace and `kiln verify` lie.
#include <nlohmann/json.hpp>

#include "metrics/sink.h"
#include "util/error.h"
#include "util/log.h"
#include "util/out_file.h"

namespace kiln::metrics {
namespace {

class JsonlSink : public Sink {
 public:
  explicit JsonlSink(const std::filesystem::path& path) : out_(path, util::OutFile::Mode::kAppend) {}
  void on_step(const StepRecord& r) override {
    nlohmann::json j = {{"type", "step"},
                        {"step", r.step},
                        {"epoch", r.epoch},
                        {"loss", r.loss},
                        {"lr", r.lr},
                        {"samples", r.samples},
                        {"data_wait_ms", r.data_wait_ms},
                        {"time_s", r.time_s}};
    if (r.grad_norm >= 0) j["grad_norm"] = r.grad_norm;
    if (r.copy_ms >= 0) j["copy_ms"] = r.copy_ms;
    if (r.skipped) j["skipped"] = true;
    if (r.loss_scale > 0) j["loss_scale"] = r.loss_scale;
    out_.write(j.dump() + "\n");  // whole or absent: a failed append is cut back off
  }
  void on_eval(const EvalRecord& r) override {
    nlohmann::json j = {{"type", "eval"}, {"step", r.step}, {"epoch", r.epoch}, {"time_s", r.time_s}};
    for (const auto& [name, v] : r.values) j[name] = v;
    out_.write(j.dump() + "\n");
  }
  void close() override {
    // Called from destructors, so it must not throw; every record already went out through
    // a checked write(2), and close(2) reports nothing more on local filesystems.
    try {
      out_.close();
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }

 private:
  util::OutFile out_;
};

}  // namespace

std::unique_ptr<Sink> make_jsonl_sink(const std::filesystem::path& path) { return std::make_unique<JsonlSink>(path); }

}  // namespace kiln::metrics
