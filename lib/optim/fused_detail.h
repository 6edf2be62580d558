// Internal to fused_adamw.cpp and fused_sgd.cpp: the parameters of one param group sorted
// into the (device, dtype) buckets ATen's fused kernels take, one call per bucket.
#pragma once
#include <ATen/core/Tensor.h>
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
  std::vector<size_t> copied;                             // grads[i] is a contiguous copy of params[i].grad()
};

inline Bucket& bucket_for(std::vector<Bucket>& buckets, const at::Tensor& p, int tag = 0) {
  for (Bucket& b : buckets) {
    if (b.device == p.device() && b.dtype == p.scalar_type() && b.tag == tag) return b;
  }
  buckets.push_back(Bucket{p.device(), p.scalar_type(), tag, {}, {}, {}, {}, {}, {}, {}});
  return buckets.back();
}

// Adds p and its gradient. The kernels walk raw memory, so parameters must be contiguous
// (kiln's are) and a strided gradient goes in as a contiguous copy.
inline void add_param(Bucket& b, const at::Tensor& p, const char* optimizer) {
  const at::Tensor& g = p.grad();
  TORCH_CHECK(!g.is_sparse(), "fused ", optimizer, " does not support sparse gradients");
  TORCH_CHECK(p.is_contiguous(), "fused ", optimizer, " needs contiguous parameters (got strides ", p.strides(), ")");
  TORCH_CHECK(g.scalar_type() == p.scalar_type() && g.device() == p.device(), "fused ", optimizer,
              ": a gradient's dtype or device differs from its parameter's");
  if (!g.is_contiguous()) b.copied.push_back(b.params.size());
  b.params.push_back(p);
  b.grads.push_back(g.contiguous());
}

// A state tensor as the kernel needs it: contiguous (a loaded one is made so, in place in
// the state, once).
inline at::Tensor& contiguous_state(at::Tensor& t) {
  if (!t.is_contiguous()) t = t.contiguous();
  return t;
}

// A scaler's tensor on the bucket's device (a no-op when it is already there).
inline std::optional<at::Tensor> on_device(const std::optional<at::Tensor>& t, c10::Device d) {
  if (!t) return std::nullopt;
  TORCH_CHECK(t->numel() == 1 && t->scalar_type() == c10::ScalarType::Float,
              "grad_scale / found_inf must be float32 with one element");
  return t->device() == d ? *t : t->to(d, /*non_blocking=*/true);
}

// After the kernel unscaled the gradients in place: the contiguous copies back into .grad().
inline void write_back_copies(const Bucket& b) {
  for (size_t i : b.copied) b.params[i].mutable_grad().copy_(b.grads[i]);
}

}  // namespace kiln::optim::detail
