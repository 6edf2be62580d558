// Internal to fused_adamw.cpp and fused_sgd.cpp: the parameters of one param group sorted
// into the (device, dtype) buckets ATen's fused kernels take, one call per bucket.
#pragma once
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <c10/util/Exception.h>

#include <optional>
#include <string>
#include <vector>

namespace kiln::optim::detail {

// The tensors of one fused call: all on one device, of one dtype. `tag` separates buckets
// that must not share a call for another reason (fused SGD: first step or not).
struct Bucket {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::ScalarType::Float;
  int tag = 0;
  std::vector<at::Tensor> params, grads, a, b, c, steps;  // a, b, c: the optimizer's state lists
  std::vector<size_t> copied;                             // grads[i] is a copy of params[i].grad() in its layout
};

inline Bucket& bucket_for(std::vector<Bucket>& buckets, const at::Tensor& p, int tag = 0) {
  for (Bucket& b : buckets) {
    if (b.device == p.device() && b.dtype == p.scalar_type() && b.tag == tag) return b;
  }
  buckets.push_back(Bucket{p.device(), p.scalar_type(), tag, {}, {}, {}, {}, {}, {}, {}});
  return buckets.back();
}

// Adds p and its gradient. The kernels walk raw memory element by element, so a parameter
// must be dense (contiguous, or channels-last: model.channels_last) and its gradient and
// state laid out as it is; a gradient that is not goes in as a copy in p's layout.
inline bool same_layout(const at::Tensor& t, const at::Tensor& p) {
  return t.sizes() == p.sizes() && t.strides() == p.strides();
}

inline at::Tensor in_layout_of(const at::Tensor& t, const at::Tensor& p) {
  return same_layout(t, p) ? t : at::empty_like(p, at::MemoryFormat::Preserve).copy_(t);
}

inline void add_param(Bucket& b, const at::Tensor& p, const char* optimizer) {
  const at::Tensor& g = p.grad();
  TORCH_CHECK(!g.is_sparse(), "fused ", optimizer, " does not support sparse gradients");
  TORCH_CHECK(p.is_non_overlapping_and_dense(), "fused ", optimizer,
              " needs dense parameters, contiguous or channels-last (got strides ", p.strides(), ")");
  TORCH_CHECK(g.scalar_type() == p.scalar_type() && g.device() == p.device(), "fused ", optimizer,
              ": a gradient's dtype or device differs from its parameter's");
  if (!same_layout(g, p)) b.copied.push_back(b.params.size());
  b.params.push_back(p);
  b.grads.push_back(in_layout_of(g, p));
}

// A state tensor as the kernel needs it: in its parameter's layout (one loaded from a
// checkpoint written with another layout is made so, in place in the state, once).
inline at::Tensor& state_like(at::Tensor& t, const at::Tensor& p) {
  if (!same_layout(t, p)) t = in_layout_of(t, p);
  return t;
}

// A scaler's tensor on the bucket's device (a no-op when it is already there).
inline std::optional<at::Tensor> on_device(const std::optional<at::Tensor>& t, c10::Device d) {
  if (!t) return std::nullopt;
  TORCH_CHECK(t->numel() == 1 && t->scalar_type() == c10::ScalarType::Float,
              "grad_scale / found_inf must be float32 with one element");
  return t->device() == d ? *t : t->to(d, /*non_blocking=*/true);
}

// FusedStep's device learning rate on the bucket's device, as the kernels read it (float32).
inline at::Tensor lr_on(const at::Tensor& lr, c10::Device d) {
  TORCH_CHECK(lr.numel() == 1 && lr.scalar_type() == c10::ScalarType::Float,
              "the device lr must be float32 with one element");
  return lr.device() == d ? lr : lr.to(d);
}

// After the kernel unscaled the gradients in place: the copies back into .grad().
inline void write_back_copies(const Bucket& b) {
  for (size_t i : b.copied) b.params[i].mutable_grad().copy_(b.grads[i]);
}

}  // namespace kiln::optim::detail
