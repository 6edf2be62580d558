// model::Dropout (see dropout.h): one pass per direction on the CPU, the mask a pure function
// of (seed, element index).
#include "model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <array>
#include <cmath>
#include <mutex>
#include <type_traits>

#include "repro/rng.h"

namespace kiln::model {
namespace {

// Elements per task: small tensors (the CNN's [128, 128]) stay on one thread.
constexpr int64_t kGrain = 16384;

// The arithmetic type: double for double, float for the others (as ATen's CPU kernels).
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

// 1 / (1 - p); 0 at p = 1, where nothing is kept (a dropped element is written 0, never x * inf).
template <typename T>
Acc<T> scale_of(double p) {
  return p < 1 ? static_cast<Acc<T>>(1.0 / (1.0 - p)) : Acc<T>(0);
}

template <typename T>
void forward_kernel(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed) {
  // A 32-bit draw is kept when it is at least p * 2^32 (2^32 at p = 1: none is).
  const uint64_t threshold = static_cast<uint64_t>(std::llround(p * 4294967296.0));
  const Acc<T> scale = scale_of<T>(p);
  const std::array<uint32_t, 2> key = {uint32_t(seed), uint32_t(seed >> 32)};
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      // One Philox block (counter i / 4) gives four elements' 32-bit draws.
      const uint64_t block = static_cast<uint64_t>(i) >> 2;
      const std::array<uint32_t, 4> r = repro::philox4x32({uint32_t(block), uint32_t(block >> 32), 0, 0}, key);
      for (int64_t lane = i & 3; lane < 4 && i < end; ++lane, ++i) {
        const bool keep = r[lane] >= threshold;
        mask[i] = keep;
        y[i] = keep ? static_cast<T>(static_cast<Acc<T>>(x[i]) * scale) : T(0);
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* gy, const uint8_t* mask, T* gx, int64_t n, double p) {
  const Acc<T> scale = scale_of<T>(p);
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) gx[i] = mask[i] ? static_cast<T>(static_cast<Acc<T>>(gy[i]) * scale) : T(0);
  });
}

at::Tensor backward_cpu(const at::Tensor& grad, const at::Tensor& mask, double p) {
  const at::Tensor g = grad.contiguous();
  at::Tensor gx = at::empty_like(g);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, g.scalar_type(), "kiln_dropout_backward", [&] {
    backward_kernel<scalar_t>(g.const_data_ptr<scalar_t>(), mask.const_data_ptr<uint8_t>(),
                              gx.mutable_data_ptr<scalar_t>(), g.numel(), p);
  });
  return gx;
}

class DropoutFn : public torch::autograd::Function<DropoutFn> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    uint64_t seed = 0;
    {
      // One draw per call, as LibTorch's own bernoulli_ takes: the generator's state (saved
      // in checkpoints) then decides every later mask.
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      seed = gen.get<at::CPUGeneratorImpl>()->random64();
    }
    auto [y, mask] = dropout_cpu(x, p, seed);
    ctx->saved_data["mask"] = mask;
    ctx->saved_data["p"] = p;
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return {backward_cpu(grads[0], ctx->saved_data["mask"].toTensor(), ctx->saved_data["p"].toDouble()), at::Tensor()};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> dropout_cpu(const at::Tensor& x, double p, uint64_t seed) {
  TORCH_CHECK(x.device().is_cpu(), "kiln's dropout kernel takes CPU tensors, got ", x.device());
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
  const at::Tensor xc = x.contiguous();
  at::Tensor y = at::empty_like(xc);
  at::Tensor mask = at::empty(xc.sizes(), xc.options().dtype(at::kByte));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, xc.scalar_type(), "kiln_dropout", [&] {
    forward_kernel<scalar_t>(xc.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>(),
                             mask.mutable_data_ptr<uint8_t>(), xc.numel(), p, seed);
  });
  return {y, mask};
}

at::Tensor DropoutImpl::forward(const at::Tensor& x) {
  const double p = options.p();
  if (!is_training() || p == 0) return x;
  const at::ScalarType t = x.scalar_type();
  const bool ours = t == at::kFloat || t == at::kDouble || t == at::kBFloat16 || t == at::kHalf;
  if (!x.device().is_cpu() || !ours) return torch::dropout(x, p, /*train=*/true);
  return DropoutFn::apply(x, p);
}

}  // namespace kiln::model
