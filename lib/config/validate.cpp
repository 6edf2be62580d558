// Validation of a loaded RunConfig: ranges, choices, finiteness and the checks that span
// keys, each error naming the key and where its value came from.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "config/fields.h"
#include "config/load.h"
#include "util/error.h"
#include "util/text.h"
#include "util/user_path.h"

namespace kiln::config {

void validate(const RunConfig& cfg_in, const Origins& origins) {
  RunConfig cfg = cfg_in;  // fields() needs non-const pointers; we only read
  auto src = [&](const std::string& key) {
    auto it = origins.find(key);
    return it == origins.end() ? std::string("(default)") : it->second;
  };
  for (const auto& f : fields(cfg)) {
    if (f.min_items > 0) {
      std::visit(
          [&](auto* p) {
            using T = std::decay_t<decltype(*p)>;
            if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<double>>) {
              if (p->size() < f.min_items) {
                throw Error::usage(
                    "'" + f.key + "' at " + src(f.key) + " must list at least " +
                    (f.min_items == 1 ? "one " + f.item : std::to_string(f.min_items) + " " + f.item + "s"));
              }
            }
          },
          f.ptr);
    }
    // Integers stay integers in messages; the range checks compare them as doubles, which is
    // exact for every bound in fields.cpp, and rounding is monotonic, so even INT64_MAX
    // (9223372036854775807 -> 9.2e18) lands on the right side of a bound.
    std::vector<std::pair<double, std::string>> values;
    bool integer = false;
    std::visit(
        [&](auto* p) {
          using T = std::decay_t<decltype(*p)>;
          if constexpr (std::is_same_v<T, int64_t>) values.emplace_back(double(*p), std::to_string(*p));
          if constexpr (std::is_same_v<T, double>) values.emplace_back(*p, format_double(*p));
          if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            for (auto v : *p) values.emplace_back(double(v), std::to_string(v));
          }
          if constexpr (std::is_same_v<T, std::vector<double>>) {
            for (auto v : *p) values.emplace_back(v, format_double(v));
          }
          integer = std::is_same_v<T, int64_t> || std::is_same_v<T, std::vector<int64_t>>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), *p) == f.choices.end()) {
              std::string msg = "invalid value '" + util::shorten(*p) + "' for '" + f.key + "' at " + src(f.key);
              const std::string hint = util::did_you_mean(*p, f.choices);
              if (!hint.empty()) msg += "; " + hint;
              std::string list;
              for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
              throw Error::usage(msg, "choose one of: " + list);
            }
          }
        },
        f.ptr);
    for (const auto& [v, text] : values) {
      if (!std::isfinite(v)) {
        throw Error::usage("value " + text + " of '" + f.key + "' at " + src(f.key) + " is not a finite number",
                           "nan and inf are never valid settings");
      }
      const bool low = f.min && (f.min_exclusive ? !(v > *f.min) : !(v >= *f.min));
      const bool high = f.max && !(v <= *f.max);
      if (low || high) {
        auto bound = [&](double b) { return integer ? std::to_string(int64_t(b)) : format_double(b); };
        std::string range = f.min ? (f.min_exclusive ? "> " : ">= ") + bound(*f.min) : "";
        if (f.max) range += (range.empty() ? "<= " : " and <= ") + bound(*f.max);
        throw Error::usage(
            "value " + text + " of '" + f.key + "' at " + src(f.key) + " is out of range: must be " + range,
            high && !f.why.empty() ? f.why : "");
      }
    }
  }
  if (cfg.data.mean.size() != cfg.data.std.size() || cfg.data.mean.empty()) {
    throw Error::usage("'data.mean' (" + src("data.mean") + ") and 'data.std' (" + src("data.std") +
                       ") must have the same, non-zero number of channels");
  }
  for (const auto* range : {"data.crop_scale", "data.crop_ratio"}) {
    const auto& v = std::string(range) == "data.crop_scale" ? cfg.data.crop_scale : cfg.data.crop_ratio;
    if (v.size() != 2 || !(v[0] <= v[1])) {
      throw Error::usage("'" + std::string(range) + "' at " + src(range) + " must be [low, high] with low <= high");
    }
  }
  if (cfg.data.resize_size != 0 && cfg.data.resize_size < cfg.data.image_size) {
    throw Error::usage("'data.resize_size' at " + src("data.resize_size") + " is below data.image_size (" +
                           std::to_string(cfg.data.image_size) + "): the centre crop would not fit",
                       "set it to at least data.image_size, or 0 for image_size * 8 / 7");
  }
  if (cfg.data.channels == 2) {
    throw Error::usage("'data.channels' at " + src("data.channels") + " is 2: images load as 1 (gray) or 3 (RGB)");
  }
  if (cfg.train.fp16_backoff_factor >= 1) {
    throw Error::usage("'train.fp16_backoff_factor' at " + src("train.fp16_backoff_factor") + " is " +
                           std::to_string(cfg.train.fp16_backoff_factor) + "; it must be below 1",
                       "the scale must shrink after an inf/nan gradient (PyTorch's default is 0.5)");
  }
  if (cfg.optim.nesterov && cfg.optim.momentum <= 0) {
    throw Error::usage("'optim.nesterov' at " + src("optim.nesterov") + " needs optim.momentum > 0");
  }
  // Checked here as well as by the loader, so the message can say where the value came from.
  if (!cfg.data.dir.empty()) util::check_user_path(cfg.data.dir, "'data.dir' at " + src("data.dir") + ":");
  const std::string& d = cfg.train.device;
  const bool device_ok =
      d == "auto" || d == "cpu" || d == "cuda" ||
      (d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.find_first_not_of("0123456789", 5) == std::string::npos);
  if (!device_ok) {
    throw Error::usage("invalid value '" + util::shorten(d) + "' for 'train.device' at " + src("train.device"),
                       "use auto, cpu, cuda or cuda:N");
  }
}

}  // namespace kiln::config
