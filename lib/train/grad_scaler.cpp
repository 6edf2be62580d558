// GradScaler: loss scaling with the state kept on the device (ATen's _amp ops).
#include "train/grad_scaler.h"

#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>
#include <ATen/ops/full.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/serialize/archive.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "util/error.h"

namespace kiln::train {
namespace {

void check_options(const GradScalerOptions& o) {
  KILN_CHECK(std::isfinite(o.init_scale) && o.init_scale > 0,
             "grad scaler: init_scale must be a positive finite number, not " + std::to_string(o.init_scale));
  KILN_CHECK(std::isfinite(o.growth_factor) && o.growth_factor > 1,
             "grad scaler: growth_factor must be greater than 1, not " + std::to_string(o.growth_factor));
  KILN_CHECK(o.backoff_factor > 0 && o.backoff_factor < 1,
             "grad scaler: backoff_factor must lie in (0, 1), not " + std::to_string(o.backoff_factor));
  // The tracker is an int32 tensor: the interval must fit one.
  KILN_CHECK(o.growth_interval >= 1 && o.growth_interval <= std::numeric_limits<int32_t>::max(),
             "grad scaler: growth_interval must lie in [1, 2^31 - 1], not " + std::to_string(o.growth_interval));
}

// Gradients sharing one device and dtype: one call of the fused kernel each (on CUDA it takes
// its multi-tensor fast path only for a single dtype; on the CPU it loops either way).
struct Group {
  c10::Device device;
  at::ScalarType dtype;
  std::vector<at::Tensor> grads;
};

}  // namespace

GradScaler::GradScaler(const GradScalerOptions& options, c10::Device device) : options_(options), device_(device) {
  if (!options_.enabled) return;  // a disabled scaler uses none of its options: nothing to check
  check_options(options_);
  const auto on = at::TensorOptions().device(device_);
  scale_ = at::full({}, options_.init_scale, on.dtype(at::kFloat));
  growth_tracker_ = at::zeros({}, on.dtype(at::kInt));
  device_ = scale_.device();  // "cuda" becomes "cuda:0": device comparisons below then hold
}

at::Tensor GradScaler::scale(const at::Tensor& loss) const {
  if (!enabled()) return loss;
  return loss * (loss.device() == device_ ? scale_ : scale_.to(loss.device()));
}

at::Tensor GradScaler::unscale(const std::vector<at::Tensor>& params) {
  if (!enabled()) return {};
  if (unscaled_) {
    throw Error::runtime("internal error: GradScaler::unscale called twice without update() in between");
  }
  unscaled_ = true;
  // In place on gradients that may themselves require grad (backward(create_graph=true)).
  at::NoGradGuard no_grad;

  std::vector<Group> groups;
  for (const auto& p : params) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& gr) { return gr.device == g.device() && gr.dtype == g.scalar_type(); });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{g.device(), g.scalar_type(), {}});
    it->grads.push_back(g);
  }

  // 1/S in double, then float32, as PyTorch computes it (exact for powers of two).
  const at::Tensor inv_scale = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  // The kernel only ever writes 1.0 into found_inf: it starts at zero, one per device.
  at::Tensor found_inf = at::zeros({}, at::TensorOptions().device(device_).dtype(at::kFloat));
  std::vector<std::pair<at::Tensor, at::Tensor>> per_device = {{found_inf, inv_scale}};  // (found_inf, inv_scale)
  // Gradients on another device than the scaler's (rare) get their own found_inf there. Those
  // copies are blocking: a non-blocking device-to-host copy could be read before it landed.
  for (auto& gr : groups) {
    auto it = std::find_if(per_device.begin(), per_device.end(),
                           [&](const auto& d) { return d.first.device() == gr.device; });
    if (it == per_device.end()) {
      it = per_device.emplace(per_device.end(), at::zeros({}, found_inf.options().device(gr.device)),
                              inv_scale.to(gr.device));
    }
    at::_amp_foreach_non_finite_check_and_unscale_(gr.grads, it->first, it->second);
  }
  for (size_t i = 1; i < per_device.size(); ++i) {
    found_inf = at::maximum(found_inf, per_device[i].first.to(device_));
  }
  return found_inf;
}

bool GradScaler::should_skip(const at::Tensor& found_inf) {
  return found_inf.defined() && found_inf.item<float>() != 0.0f;
}

void GradScaler::update(const at::Tensor& found_inf) {
  if (!enabled()) return;
  if (!found_inf.defined()) throw Error::runtime("internal error: GradScaler::update needs a defined found_inf");
  // No copy when found_inf is unscale()'s own (float32, on device_), as the kernel requires.
  const at::Tensor f = found_inf.to(device_, at::kFloat);
  at::_amp_update_scale_(scale_, growth_tracker_, f, options_.growth_factor, options_.backoff_factor,
                         options_.growth_interval);
  unscaled_ = false;
}

double GradScaler::current_scale() const { return enabled() ? double(scale_.item<float>()) : 1.0; }

GradScalerState GradScaler::state() const {
  if (!enabled()) return {};
  return {double(scale_.item<float>()), int64_t(growth_tracker_.item<int32_t>())};
}

void GradScaler::load_state(const GradScalerState& s) {
  if (!enabled()) return;
  KILN_CHECK(std::isfinite(s.scale) && s.scale > 0 && double(float(s.scale)) == s.scale,
             "grad scaler: a saved scale of " + std::to_string(s.scale) + " is not a positive finite float32");
  if (s.growth_tracker < 0 || s.growth_tracker >= options_.growth_interval) {
    // Not reachable with these options: _amp_update_scale_ would never see tracker + 1 equal
    // the interval again, and S would stop growing for good.
    throw Error::usage("grad scaler: a saved growth tracker of " + std::to_string(s.growth_tracker) +
                           " is outside [0, growth_interval = " + std::to_string(options_.growth_interval) + ")",
                       "was the checkpoint written with a larger growth_interval?");
  }
  scale_.fill_(s.scale);
  growth_tracker_.fill_(s.growth_tracker);
  unscaled_ = false;
}

void save(torch::serialize::OutputArchive& archive, const GradScaler& scaler, const std::string& prefix) {
  if (!scaler.enabled()) return;
  const GradScalerState s = scaler.state();
  archive.write(prefix + "_scale", c10::IValue(s.scale));
  archive.write(prefix + "_growth_tracker", c10::IValue(s.growth_tracker));
}

bool load(torch::serialize::InputArchive& archive, GradScaler& scaler, const std::string& prefix) {
  if (!scaler.enabled()) return false;
  c10::IValue scale, tracker;
  const bool has_scale = archive.try_read(prefix + "_scale", scale);
  const bool has_tracker = archive.try_read(prefix + "_growth_tracker", tracker);
  if (!has_scale && !has_tracker) return false;
  KILN_CHECK(has_scale && has_tracker, "grad scaler: the checkpoint has " + prefix +
                                           (has_scale ? "_scale" : "_growth_tracker") + " without " + prefix +
                                           (has_scale ? "_growth_tracker" : "_scale"));
  KILN_CHECK(scale.isDouble() && tracker.isInt(),
             "grad scaler: the checkpoint's " + prefix + "_scale or " + prefix + "_growth_tracker has the wrong type");
  scaler.load_state({scale.toDouble(), tracker.toInt()});
  return true;
}

}  // namespace kiln::train
