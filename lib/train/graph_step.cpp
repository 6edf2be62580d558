// GraphStep and check_cuda_graph (graph_step.h says how and why).
#include "train/graph_step.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>

#include <mutex>
#include <string>

#include "instrument/scope.h"
#include "optim/fused_step.h"
#include "train/components.h"
#include "util/error.h"

#ifdef KILN_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kiln::train {
namespace {

constexpr int kWarmupSteps = 3;  // PyTorch's recipe for whole-network capture

Error refuse(const std::string& why, const std::string& hint) {
  return Error::usage("train.cuda_graph = true: " + why, hint);
}

// A copy the graph owns, in the source's layout (channels-last batches stay so).
at::Tensor static_copy(const at::Tensor& t) { return at::empty_like(t, at::MemoryFormat::Preserve).copy_(t); }

bool same_shape(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.strides() == b.strides() && a.scalar_type() == b.scalar_type() &&
         a.device() == b.device();
}

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "] " + std::string(c10::toString(t.scalar_type()));
}

// Outputs of the captured step live in the graph's memory, rewritten by every replay:
// StepLog keeps a step's tensors until its flush, so each replay's are copied out.
at::Tensor copied(const at::Tensor& t) { return t.defined() ? t.clone() : t; }

}  // namespace

void check_cuda_graph(const config::RunConfig& cfg, const Components& c) {
  if (!cfg.train.cuda_graph) return;
  if (!cfg.loader.drop_last) {
    throw refuse("needs loader.drop_last = true",
                 "an epoch's partial last batch would change the captured shapes; set loader.drop_last = true");
  }
  const int64_t batches = c.train_loader->batches_per_epoch();
  if (batches % cfg.train.grad_accum != 0) {
    throw refuse("train.grad_accum = " + std::to_string(cfg.train.grad_accum) + " does not divide the " +
                     std::to_string(batches) + " batches of an epoch",
                 "the epoch's last step would accumulate fewer micro-batches than the captured one; pick a "
                 "grad_accum that divides " +
                     std::to_string(batches) + ", or change loader.batch_size");
  }
  auto* fused = dynamic_cast<optim::FusedStep*>(c.optimizer.get());
  if (fused == nullptr) {
    throw refuse("needs a fused optimizer (optim.fused = \"" + cfg.optim.fused + "\")",
                 "set optim.fused = \"auto\" or true: the captured step reads its learning rate from the device");
  }
  if (!fused->takes_found_inf()) {
    throw refuse("the optimizer cannot skip an update on the device (SGD with dampening)", "set the dampening to 0");
  }
  if (c.world.distributed()) {
    throw refuse("not in a data-parallel job (world size " + std::to_string(c.world.size) + ")",
                 "c10d's Reducer does host work inside backward; run without train.cuda_graph, or on one GPU");
  }
  if (c10::Device(c.device).type() != c10::kCUDA) {
    throw refuse("needs a CUDA device (train.device is \"" + cfg.train.device + "\", resolved to " + c.device + ")",
                 "run on a GPU (train.device = \"cuda\"), or set train.cuda_graph = false");
  }
#ifndef KILN_HAVE_CUDA
  throw refuse("this kiln was built without the CUDA headers", "rebuild with the CUDA toolkit installed");
#endif
}

#ifdef KILN_HAVE_CUDA
struct GraphStep::Impl {
  model::Net& net;
  torch::optim::Optimizer& opt;
  const task::Task& task;
  StepOptions opts;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  std::vector<data::Batch> inputs;  // static: the graph reads its batches here
  at::Tensor lr;                    // float32 scalar on the device: the fused kernel's lr
  StepStats out;                    // the captured step's outputs (graph memory)

  void capture(const std::vector<data::Batch>& micro);
  void check_shapes(const std::vector<data::Batch>& micro) const;
};

void GraphStep::Impl::capture(const std::vector<data::Batch>& micro) {
  const c10::Device device = micro.front().input.device();
  for (const auto& b : micro) {
    data::Batch s = b;
    s.input = static_copy(b.input);
    s.target = static_copy(b.target);
    inputs.push_back(std::move(s));
  }
  auto& fused = dynamic_cast<optim::FusedStep&>(opt);
  fused.init_state();
  lr = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
  fused.use_device_lr(lr);

  // What the warm-up's forward passes and scaler updates change, to put back after it.
  std::vector<at::Tensor> buffers;
  for (const auto& b : net.buffers()) buffers.push_back(b.detach().clone());
  const GradScalerState scale = opts.scaler ? opts.scaler->state() : GradScalerState{};
  at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator(device.index());
  at::Tensor rng;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng = gen.get_state();
  }

  // Off for the warm-up and the capture, back on however they end: CUDA-event timers cannot
  // sit inside a capture, and a weight cast cached by autocast would be captured once only.
  struct Restore {
    instrument::Recorder* recorder = instrument::active_recorder();
    bool cache = at::autocast::is_autocast_cache_enabled();
    Restore() {
      instrument::set_active_recorder(nullptr);
      at::autocast::set_autocast_cache_enabled(false);
    }
    ~Restore() {
      at::autocast::set_autocast_cache_enabled(cache);
      instrument::set_active_recorder(recorder);
    }
  } restore;
  const auto current = c10::cuda::getCurrentCUDAStream(device.index());
  const auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(side);  // the static inputs' copies are done
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    StepOptions dry = opts;
    dry.dry_run = true;
    for (int i = 0; i < kWarmupSteps; ++i) step(net, opt, task, inputs, dry);
    {
      torch::NoGradGuard no_grad;
      const auto now = net.buffers();
      for (size_t i = 0; i < now.size(); ++i) now[i].copy_(buffers[i]);
    }
    if (opts.scaler) opts.scaler->load_state(scale);
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
    graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    out = step(net, opt, task, inputs, opts);
    graph->capture_end();
  }
  at::cuda::CUDAEvent captured;
  captured.record(side);
  captured.block(current);
}

void GraphStep::Impl::check_shapes(const std::vector<data::Batch>& micro) const {
  if (micro.size() != inputs.size()) {
    throw Error::runtime("train.cuda_graph: a step of " + std::to_string(micro.size()) +
                         " micro-batches, the captured one had " + std::to_string(inputs.size()));
  }
  auto check = [](const at::Tensor& now, const at::Tensor& was) {
    if (!same_shape(now, was)) {
      throw Error::runtime("train.cuda_graph: a batch of " + shape_of(now) + ", the captured step's was " +
                           shape_of(was) + " (shapes must not change between steps)");
    }
  };
  for (size_t i = 0; i < micro.size(); ++i) {
    check(micro[i].input, inputs[i].input);
    check(micro[i].target, inputs[i].target);
  }
}

GraphStep::GraphStep(model::Net& net, torch::optim::Optimizer& opt, const task::Task& task, const StepOptions& opts)
    : impl_(new Impl{net, opt, task, opts, nullptr, {}, {}, {}}) {}

GraphStep::~GraphStep() = default;

StepStats GraphStep::run(const std::vector<data::Batch>& micro, double lr) {
  Impl& m = *impl_;
  if (!m.graph) {
    m.capture(micro);
  } else {
    m.check_shapes(micro);
    for (size_t i = 0; i < micro.size(); ++i) {
      m.inputs[i].input.copy_(micro[i].input, /*non_blocking=*/true);
      m.inputs[i].target.copy_(micro[i].target, /*non_blocking=*/true);
    }
  }
  m.lr.fill_(lr);  // an ordinary launch on the replay's stream: no host sync
  m.graph->replay();
  StepStats st = m.out;
  st.loss = copied(m.out.loss);
  st.grad_norm = copied(m.out.grad_norm);
  st.loss_scale = copied(m.out.loss_scale);
  st.skip_flag = copied(m.out.skip_flag);
  return st;
}

#else
struct GraphStep::Impl {};
GraphStep::GraphStep(model::Net&, torch::optim::Optimizer&, const task::Task&, const StepOptions&) {
  throw Error::usage("train.cuda_graph = true: this kiln was built without the CUDA headers");
}
GraphStep::~GraphStep() = default;
StepStats GraphStep::run(const std::vector<data::Batch>&, double) { return {}; }
#endif

}  // namespace kiln::train
