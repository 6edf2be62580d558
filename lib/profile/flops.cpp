#include "profile/flops.h"

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

namespace kiln::profile {
namespace {

thread_local double* g_flops = nullptr;  // the count of the forward being observed (this thread)

// Only these entry points count, so linear (-> addmm / matmul -> mm) and conv2d (->
// convolution) count once.
bool counted(const std::string& name) {
  return name == "aten::convolution" || name == "aten::mm" || name == "aten::addmm" || name == "aten::bmm" ||
         name == "aten::baddbmm";
}

// Multiply-adds per output element (and, for a transposed convolution, per input element),
// read from the inputs in the start callback: RecordFunction's inputs are gone by its end.
struct PerElement : at::ObserverContext {
  double macs = 0;
  bool per_input = false;  // transposed convolution: count input elements, not outputs
  int64_t input_numel = 0;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& f) {
  if (!g_flops || !counted(f.name())) return nullptr;
  const auto in = f.inputs();
  auto tensor = [&](size_t i) { return i < in.size() && in[i].isTensor() ? in[i].toTensor() : at::Tensor(); };
  auto ctx = std::make_unique<PerElement>();
  const std::string name = f.name();
  if (name == "aten::convolution") {
    // Weight [Cout, Cin / groups, k...]: each output element is Cin / groups x k... multiply-adds.
    // Transposed, weight [Cin, Cout / groups, k...]: each input element scatters as many.
    const at::Tensor x = tensor(0), w = tensor(1);
    if (!x.defined() || !w.defined() || w.dim() < 1 || w.size(0) == 0) return nullptr;
    ctx->macs = double(w.numel()) / double(w.size(0));
    ctx->per_input = in.size() > 6 && in[6].isBool() && in[6].toBool();
    ctx->input_numel = x.numel();
  } else {
    // [.., M, K] @ [.., K, N]: K per output; the first operand is input 0 (mm, bmm) or 1 (addmm, baddbmm).
    const at::Tensor x = tensor(name == "aten::addmm" || name == "aten::baddbmm" ? 1 : 0);
    if (!x.defined() || x.dim() < 1) return nullptr;
    ctx->macs = double(x.size(-1));
  }
  return ctx;
}

void on_end(const at::RecordFunction& f, at::ObserverContext* c) {
  auto* ctx = static_cast<PerElement*>(c);
  if (!g_flops || !ctx) return;
  const auto out = f.outputs();
  if (out.empty() || !out[0].isTensor() || !out[0].toTensor().defined()) return;
  const double elements = ctx->per_input ? double(ctx->input_numel) : double(out[0].toTensor().numel());
  *g_flops += 2.0 * elements * ctx->macs;
}

}  // namespace

double train_flops_per_sample(model::Net& net, const data::SampleSpec& spec) {
  const auto params = net.parameters();
  const c10::Device device = params.empty() ? c10::Device(c10::kCPU) : params.front().device();
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), spec.input.shape.begin(), spec.input.shape.end());
  const at::ScalarType dtype = spec.is_image() ? at::kFloat : spec.input.dtype;
  const at::Tensor x = at::zeros(shape, at::TensorOptions().dtype(dtype).device(device));

  double flops = 0;
  g_flops = &flops;
  const auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end)
                                                     .needsInputs(true)
                                                     .needsOutputs(true)
                                                     .scopes({at::RecordScope::FUNCTION}));
  {
    torch::NoGradGuard no_grad;
    net.eval();
    net.forward(x);
    net.train();
  }
  at::removeCallback(handle);
  g_flops = nullptr;
  return flops > 0 ? 3.0 * flops : -1.0;
}

}  // namespace kiln::profile
