// Tracing a C++ torch::nn::Module into TorchScript, as Python's torch.jit.trace does for a
// Python module: a torch::jit::Module is built whose attributes are the very tensors of the
// C++ module (submodule by submodule, the same names), the function is run once under the
// tracer with that module as `self`, and the recorded graph becomes its `forward`. Every op
// on the input is recorded; a tensor the function reads that is one of self's attributes
// becomes an attribute read (prim::GetAttr), any other tensor a constant, and every C++
// number (a size, a loop count) a constant too: control flow and sizes read with
// .size() are frozen at the example's values.
#pragma once
#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>

namespace kiln::exporter {

// A module of class `__torch__.kiln.<name>` (in `cu`) holding `m`'s parameters and buffers
// (the same tensors, not copies) and, recursively, its children under their names ("0",
// "1", ... for a Sequential's). Each has the `training` attribute TorchScript modules carry,
// set to false.
torch::jit::Module mirror(torch::nn::Module& m, const std::shared_ptr<torch::jit::CompilationUnit>& cu);

// An empty top-level module of class `__torch__.kiln.<name>`, `training` false.
torch::jit::Module new_module(const std::string& name, const std::shared_ptr<torch::jit::CompilationUnit>& cu);

// Runs `fn(example)` under the tracer with `self` as the module and adds the graph to `self`
// as its `forward(Tensor) -> Tensor`.
void trace_forward(torch::jit::Module& self, const at::Tensor& example,
                   const std::function<at::Tensor(const at::Tensor&)>& fn);

}  // namespace kiln::exporter
