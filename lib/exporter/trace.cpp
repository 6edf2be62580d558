// Tracing through torch::jit::tracer::trace, as torch.jit.trace's _create_method_from_trace.
#include "exporter/trace.h"

#include <torch/csrc/jit/frontend/tracer.h>

#include <atomic>
#include <cctype>

namespace kiln::exporter {
namespace jit = torch::jit;

namespace {

// Class names must be unique within the compilation unit (two Linear layers of different
// shapes are different classes) and identifiers, since they name Python classes on load.
std::string class_name(const std::string& base) {
  static std::atomic<int64_t> next{0};
  std::string n = base.substr(base.rfind(':') == std::string::npos ? 0 : base.rfind(':') + 1);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, "Impl") == 0) n.resize(n.size() - 4);  // torch::nn::LinearImpl
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) n = "M" + n;
  return "__torch__.kiln." + n + "_" + std::to_string(next++);
}

}  // namespace

jit::Module new_module(const std::string& name, const std::shared_ptr<jit::CompilationUnit>& cu) {
  jit::Module j(c10::QualifiedName(class_name(name)), cu);
  j.register_attribute("training", c10::BoolType::get(), false);
  return j;
}

jit::Module mirror(torch::nn::Module& m, const std::shared_ptr<jit::CompilationUnit>& cu) {
  jit::Module j = new_module(m.name(), cu);
  for (const auto& p : m.named_parameters(/*recurse=*/false)) j.register_parameter(p.key(), p.value(), false);
  for (const auto& b : m.named_buffers(/*recurse=*/false)) j.register_buffer(b.key(), b.value());
  for (const auto& c : m.named_children()) j.register_module(c.key(), mirror(*c.value(), cu));
  return j;
}

void trace_forward(jit::Module& self, const at::Tensor& example,
                   const std::function<at::Tensor(const at::Tensor&)>& fn) {
  auto traced = jit::tracer::trace(
      {example}, [&](jit::Stack in) -> jit::Stack { return {fn(in.at(0).toTensor())}; },
      [](const at::Tensor&) { return std::string(); }, /*strict=*/true, /*force_outplace=*/false, &self);
  const auto cu = self._ivalue()->compilation_unit();
  auto* forward = cu->create_function(c10::QualifiedName(*self.type()->name(), "forward"), traced.first->graph);
  self.type()->addMethod(forward);
}

}  // namespace kiln::exporter
